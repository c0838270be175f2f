/* Historical (predicted) liquidations: longs and shorts over time, each on its own axis. */
"use strict";

(async () => {
  LH.nav("history");
  const el = Object.fromEntries(
    ["symbol", "model", "interval", "start", "end", "status", "plot", "summary"].map((id) => [id, document.getElementById(id)]),
  );
  let symbols;
  try {
    ({ symbols } = await LH.catalog());
  } catch (error) {
    LH.done(el.plot, el.status, "error", error.message);
    return;
  }
  let info = LH.pickSymbol(el.symbol, symbols);
  LH.pickModel(el.model, info);
  const wanted = LH.params();
  if (wanted.get("interval")) el.interval.value = wanted.get("interval");

  function dateRange() {
    el.start.min = el.end.min = info.first_trade_date || "";
    el.start.max = el.end.max = info.last_trade_date || "";
    el.start.value = wanted.get("start") || info.first_trade_date || "";
    el.end.value = wanted.get("end") || info.last_trade_date || "";
  }
  dateRange();
  const newest = LH.latest();

  async function draw() {
    const query = {
      symbol: el.symbol.value, model: el.model.value, aggregate: "true", interval: el.interval.value,
      start: el.start.value, end: el.end.value,
    };
    LH.remember({ ...query, aggregate: null });
    LH.loading(el.plot, el.status, "Loading liquidation history…");
    const data = await newest(
      () => LH.api("/liquidations/history", query),
      (error) => LH.failed(el.plot, el.status, el.summary, error),
    );
    if (!data) return;
    const sides = { long: { x: [], y: [], n: [] }, short: { x: [], y: [], n: [] } };
    for (const row of data.rows) {
      sides[row.side].x.push(LH.plotTime(row.bucket_start));
      sides[row.side].y.push(row.liquidated_notional);
      sides[row.side].n.push(row.liquidated_count);
    }
    const traces = ["long", "short"].map((side, i) => ({
      type: "bar", name: side === "long" ? "longs liquidated" : "shorts liquidated",
      x: sides[side].x, y: sides[side].y, customdata: sides[side].n, yaxis: i ? "y2" : "y",
      offsetgroup: String(i + 1), marker: { color: LH.COLORS[side] },
      hovertemplate: `%{x}<br>${side}s: %{y:,.0f} USDT (%{customdata} levels)<extra></extra>`,
    }));
    const layout = LH.layout({
      barmode: "group",
      xaxis: { type: "date" },
      yaxis: { title: { text: "Longs liquidated (USDT)", font: { color: LH.COLORS.long } }, rangemode: "tozero" },
      yaxis2: {
        title: { text: "Shorts liquidated (USDT)", font: { color: LH.COLORS.short } },
        overlaying: "y", side: "right", showgrid: false, rangemode: "tozero",
      },
    });
    await Plotly.react(el.plot, traces, layout, LH.PLOT_CONFIG);
    if (!data.rows.length) {
      LH.done(el.plot, el.status, "empty", "No predicted liquidations in this range.");
      el.summary.textContent = "";
      return;
    }
    LH.done(el.plot, el.status, "ready",
      `${data.symbol} · ${LH.MODEL_LABELS[data.model]} · per ${data.interval}`);
    el.summary.textContent = `Longs liquidated: ${LH.usd(data.total_long_notional)} USDT · ` +
      `shorts liquidated: ${LH.usd(data.total_short_notional)} USDT`;
  }

  el.symbol.addEventListener("change", () => {
    info = symbols.find((s) => s.symbol === el.symbol.value);
    LH.pickModel(el.model, info, el.model.value);
    wanted.delete("start");
    wanted.delete("end");
    dateRange();
    draw();
  });
  for (const id of ["model", "interval", "start", "end"]) el[id].addEventListener("change", draw);
  await draw();
  const live = LIVE.start({ plot: el.plot, kind: "history", symbol: () => el.symbol.value, redraw: draw, statusEl: el.status });
  el.symbol.addEventListener("change", live.reconnect);
})();

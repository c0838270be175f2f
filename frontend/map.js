/* Liquidation map (Coinglass style): live notional per price bin stacked by leverage band, the
   cumulative long curve below the price and the short curve above, and the current price. */
"use strict";

(async () => {
  LH.nav("map");
  const el = Object.fromEntries(
    ["symbol", "model", "leverage", "status", "plot", "summary"].map((id) => [id, document.getElementById(id)]),
  );
  const BANDS = [
    { label: "≤ 10x", low: 0, high: 10, color: "#4f6bed" },
    { label: "11–25x", low: 11, high: 25, color: "#7b5cd6" },
    { label: "26–50x", low: 26, high: 50, color: "#b57bee" },
    { label: "51–100x", low: 51, high: 100, color: "#e59cff" },
    { label: "> 100x", low: 101, high: 1e9, color: "#ffd6ff" },
  ];
  let symbols;
  try {
    ({ symbols } = await LH.catalog());
  } catch (error) {
    LH.done(el.plot, el.status, "error", error.message);
    return;
  }
  let info = LH.pickSymbol(el.symbol, symbols);
  LH.pickModel(el.model, info);
  el.leverage.value = LH.params().get("min_leverage") || "";
  const newest = LH.latest();

  function traces(data) {
    const size = data.price_bin_size;
    const out = BANDS.map((band) => {
      const perBin = new Map();
      for (const level of data.levels) {
        if (level.leverage < band.low || level.leverage > band.high) continue;
        perBin.set(level.price_bin, (perBin.get(level.price_bin) || 0) + level.live_notional);
      }
      const bins = [...perBin.keys()].sort((a, b) => a - b);
      return {
        type: "bar", name: band.label, x: bins.map((b) => b + size / 2), y: bins.map((b) => perBin.get(b)),
        width: size * 0.92, marker: { color: band.color },
        hovertemplate: `${band.label}<br>%{x:,.0f} USDT<br>%{y:,.0f} USDT<extra></extra>`,
      };
    }).filter((t) => t.x.length);
    for (const side of ["long", "short"]) {
      const perBin = new Map();
      for (const level of data.levels) {
        if (level.side === side) perBin.set(level.price_bin, (perBin.get(level.price_bin) || 0) + level.live_notional);
      }
      // Longs accumulate from the price downwards, shorts from the price upwards.
      const bins = [...perBin.keys()].sort((a, b) => (side === "long" ? b - a : a - b));
      let total = 0;
      const y = bins.map((b) => (total += perBin.get(b)));
      const x = bins.map((b) => b + size / 2);
      out.push({
        type: "scatter", mode: "lines", name: `cumulative ${side === "long" ? "longs" : "shorts"}`, x, y,
        yaxis: "y2", line: { color: LH.COLORS[side], width: 2, shape: "hv" },
        fill: "tozeroy", fillcolor: side === "long" ? "rgba(217,2,75,0.10)" : "rgba(69,191,135,0.10)",
        hovertemplate: `cumulative ${side}s to %{x:,.0f}: %{y:,.0f} USDT<extra></extra>`,
      });
    }
    return out;
  }

  async function draw() {
    const query = { symbol: el.symbol.value, model: el.model.value, min_leverage: el.leverage.value };
    LH.remember(query);
    LH.loading(el.plot, el.status, "Loading liquidation levels…");
    const data = await newest(
      () => LH.api("/liquidations/levels", query),
      (error) => LH.failed(el.plot, el.status, el.summary, error),
    );
    if (!data) return;
    const layout = LH.layout({
      barmode: "stack",
      bargap: 0,
      xaxis: { title: { text: "Liquidation price (USDT)" } },
      yaxis: { title: { text: "Live notional per bin (USDT)" } },
      yaxis2: { title: { text: "Cumulative (USDT)" }, overlaying: "y", side: "right", showgrid: false, rangemode: "tozero" },
      shapes: data.current_price === null ? [] : [{
        type: "line", xref: "x", yref: "paper", x0: data.current_price, x1: data.current_price, y0: 0, y1: 1,
        line: { color: LH.COLORS.price, width: 2, dash: "dot" },
      }],
      annotations: data.current_price === null ? [] : [{
        xref: "x", yref: "paper", x: data.current_price, y: 1, yanchor: "bottom", showarrow: false,
        text: `price ${LH.price(data.current_price)}`, font: { color: LH.COLORS.price },
      }],
    });
    await Plotly.react(el.plot, traces(data), layout, LH.PLOT_CONFIG);
    if (!data.levels.length) {
      LH.done(el.plot, el.status, "empty", "No live liquidation levels for this choice.");
      el.summary.textContent = "";
      return;
    }
    LH.done(el.plot, el.status, "ready",
      `${data.symbol} · ${LH.MODEL_LABELS[data.model]} · measured ${LH.readable(data.measured_at)}`);
    el.summary.textContent = `Longs below the price: ${LH.usd(data.total_long_notional)} USDT · ` +
      `shorts above: ${LH.usd(data.total_short_notional)} USDT · bin ${data.price_bin_size} USDT`;
  }

  el.symbol.addEventListener("change", () => {
    info = symbols.find((s) => s.symbol === el.symbol.value);
    LH.pickModel(el.model, info, el.model.value);
    draw();
  });
  el.model.addEventListener("change", draw);
  el.leverage.addEventListener("change", draw);
  await draw();
  const live = LIVE.start({ plot: el.plot, kind: "map", symbol: () => el.symbol.value, redraw: draw, statusEl: el.status });
  el.symbol.addEventListener("change", live.reconnect);
})();

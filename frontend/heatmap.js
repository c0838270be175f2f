/* Liquidation heatmap: live notional over time x price (dark purple -> yellow), candles over it,
   DBSCAN zones marked when the clusters mart is built. */
"use strict";

const Heat = (() => {
  /* Clip the colour scale at the 99th percentile of non-empty cells, so one wall does not darken the rest. */
  function colourMax(z) {
    const values = [];
    for (const row of z) for (const v of row) if (v > 0) values.push(v);
    if (!values.length) return 1;
    values.sort((a, b) => a - b);
    return values[Math.min(values.length - 1, Math.floor(values.length * 0.99))];
  }

  function traces(data, zmax, withCandles = true) {
    const half = data.price_bin_size / 2;
    const out = [{
      type: "heatmap", name: "live notional", x: data.times.map(LH.plotTime), y: data.prices.map((p) => p + half), z: data.z,
      zmin: 0, zmax, colorscale: LH.HEAT_SCALE, showscale: true,
      colorbar: { thickness: 10, tickfont: { color: LH.COLORS.muted }, outlinewidth: 0 },
      hovertemplate: "%{x}<br>%{y:,.0f} USDT<br>live %{z:,.0f} USDT<extra></extra>",
    }];
    const c = data.candles;
    if (withCandles && c.time.length) {
      out.push({
        type: "candlestick", name: "price", x: c.time.map(LH.plotTime), open: c.open, high: c.high, low: c.low, close: c.close,
        increasing: { line: { color: LH.COLORS.short, width: 1 } },
        decreasing: { line: { color: LH.COLORS.long, width: 1 } },
      });
    } else if (c.time.length) {
      out.push({
        type: "scatter", mode: "lines", name: "price", x: c.time.map(LH.plotTime), y: c.close,
        line: { color: LH.COLORS.price, width: 1.5 }, hovertemplate: "%{x}<br>close %{y:,.1f}<extra></extra>",
      });
    }
    return out;
  }

  /* Recorded liquidations as dots on the map, area by notional (the largest 22 px across). */
  function truthTrace(truth) {
    const rows = truth ? truth.rows : [];
    if (!rows.length) return null;
    const largest = Math.max(...rows.map((r) => r.notional));
    return {
      type: "scatter", mode: "markers", name: "true liquidations",
      x: rows.map((r) => LH.plotTime(r.bucket_start)), y: rows.map((r) => r.price),
      customdata: rows.map((r) => [r.side, r.notional, r.count]),
      marker: {
        size: rows.map((r) => 4 + 18 * Math.sqrt(r.notional / largest)),
        color: rows.map((r) => (r.side === "long" ? "rgba(255,255,255,0.85)" : "rgba(255,170,0,0.85)")),
        line: { color: "rgba(0,0,0,0.6)", width: 1 },
      },
      hovertemplate: "%{x}<br>%{y:,.1f} USDT<br>%{customdata[0]}s liquidated: %{customdata[1]:,.0f} USDT" +
        " (%{customdata[2]} orders)<extra>true</extra>",
    };
  }

  function zoneShapes(zones) {
    const shapes = [];
    const annotations = [];
    for (const zone of zones) {
      const colour = zone.side === "long" ? "217,2,75" : "69,191,135";
      shapes.push({
        type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: zone.price_low, y1: zone.price_high,
        fillcolor: `rgba(${colour},0.10)`, line: { color: `rgba(${colour},0.9)`, width: 1, dash: "dash" },
      });
      annotations.push({
        xref: "paper", x: 0.005, xanchor: "left", yref: "y", y: zone.price_high, yanchor: "bottom", showarrow: false,
        text: `${zone.side} zone ${zone.zone_id}: ${LH.usd(zone.total_notional)}`,
        font: { size: 10, color: `rgb(${colour})` },
      });
    }
    return { shapes, annotations };
  }

  function layout(extra = {}) {
    return LH.layout({
      xaxis: { type: "date", rangeslider: { visible: false } },
      yaxis: { title: { text: "Price (USDT)" } },
      showlegend: false,
      ...extra,
    });
  }

  return { colourMax, traces, truthTrace, zoneShapes, layout };
})();

if (document.body.dataset.page === "heatmap") {
  (async () => {
    LH.nav("heatmap");
    const el = Object.fromEntries(
      ["symbol", "model", "timeframe", "side", "status", "plot", "summary"].map((id) => [id, document.getElementById(id)]),
    );
    let symbols;
    let health;
    try {
      ({ symbols, health } = await LH.catalog());
    } catch (error) {
      LH.done(el.plot, el.status, "error", error.message);
      return;
    }
    const zonesBuilt = Boolean(health.marts.fct_liquidation_clusters);
    let info = LH.pickSymbol(el.symbol, symbols);
    LH.pickModel(el.model, info);
    const wanted = LH.params();
    if (wanted.get("timeframe")) el.timeframe.value = wanted.get("timeframe");
    if (wanted.get("side")) el.side.value = wanted.get("side");
    const newest = LH.latest();

    async function draw() {
      const query = {
        symbol: el.symbol.value, model: el.model.value, timeframe: el.timeframe.value, side: el.side.value,
      };
      LH.remember(query);
      LH.loading(el.plot, el.status, `Loading the ${query.timeframe} heatmap…`);
      const requests = [
        LH.api("/liquidations/heatmap", query),
        LH.api("/liquidations/true", { symbol: query.symbol, timeframe: query.timeframe, side: query.side }),
      ];
      if (zonesBuilt) requests.push(LH.api("/liquidations/clusters", { symbol: query.symbol, model: query.model }));
      const answers = await newest(
        () => Promise.all(requests),
        (error) => LH.failed(el.plot, el.status, el.summary, error),
      );
      if (!answers) return;
      const [data, truth, clusters] = answers;
      const zones = clusters ? clusters.zones.filter((z) => query.side === "both" || z.side === query.side) : [];
      const marks = Heat.zoneShapes(zones);
      const shown = Heat.traces(data, Heat.colourMax(data.z));
      const dots = Heat.truthTrace(truth);
      if (dots) shown.push(dots);
      await Plotly.react(el.plot, shown, Heat.layout(marks), LH.PLOT_CONFIG);
      if (!data.times.length) {
        LH.done(el.plot, el.status, "empty", "No heatmap cells for this choice.");
        el.summary.textContent = "";
        return;
      }
      LH.done(el.plot, el.status, "ready",
        `${data.symbol} · ${LH.MODEL_LABELS[data.model]} · ${data.timeframe} at ${data.resolution_minutes}-minute ` +
        `buckets · price ${LH.price(data.current_price)}`);
      const zoneText = zonesBuilt
        ? `${zones.length} liquidation zone(s) marked (DBSCAN over the latest levels).`
        : "Liquidation zones are not built yet (fct_liquidation_clusters): none marked.";
      const truthText = truth.rows.length
        ? ` Dots: ${LH.usd(truth.total_notional)} of recorded liquidations (white longs, orange shorts).`
        : "";
      el.summary.textContent = zoneText + truthText;
    }

    el.symbol.addEventListener("change", () => {
      info = symbols.find((s) => s.symbol === el.symbol.value);
      LH.pickModel(el.model, info, el.model.value);
      draw();
    });
    for (const id of ["model", "timeframe", "side"]) el[id].addEventListener("change", draw);
    await draw();
    const live = LIVE.start({ plot: el.plot, kind: "heatmap", symbol: () => el.symbol.value, redraw: draw, statusEl: el.status });
    el.symbol.addEventListener("change", live.reconnect);
  })();
}

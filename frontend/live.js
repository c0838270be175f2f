/* Live mode: subscribe to GET /stream (Server-Sent Events relayed from Redis) and draw what arrives
   without a reload. New liquidations become marks, the price line moves, and a "marts" event redraws
   the page from the API. Without a live source (/stream answers 204) nothing changes on the page. */
"use strict";

const LIVE = (() => {
  const MAX_MARKS = 2000;
  const MAX_PRICES = 3600;

  /* kind: "heatmap" (time x price), "history" (time x notional), "map" (price x notional). */
  function start({ plot, kind, symbol, redraw, statusEl }) {
    const state = { liquidations: [], prices: [], source: null, symbol: null, live: false, pending: false };
    window.LH_LIVE = state;
    const badge = document.createElement("span");
    badge.id = "live";
    badge.className = "live";
    badge.hidden = true;
    badge.dataset.liquidations = "0";
    (statusEl || plot).insertAdjacentElement("afterend", badge);

    function tell() {
      badge.hidden = !state.live;
      badge.dataset.liquidations = String(state.liquidations.length);
      const last = state.prices[state.prices.length - 1];
      badge.textContent = `● live · ${state.liquidations.length} liquidation(s)` + (last ? ` · price ${LH.price(last.close)}` : "");
    }

    function liveTraces() {
      const longs = state.liquidations.filter((l) => l.position_side === "long");
      const shorts = state.liquidations.filter((l) => l.position_side === "short");
      const when = (l) => new Date(l.time).toISOString().replace("Z", "");
      const notional = (l) => l.price * l.quantity;
      const marks = (rows, side) => {
        const colour = side === "long" ? LH.COLORS.long : LH.COLORS.short;
        const base = {
          type: "scatter", mode: "markers", name: `live ${side} liquidations`, meta: "live",
          marker: { color: colour, size: 9, symbol: "x", line: { color: "#fff", width: 1 } },
          hovertemplate: `${side} liquidated at %{customdata[0]:,.1f}: %{customdata[1]:,.0f} USDT<extra>live</extra>`,
          customdata: rows.map((l) => [l.price, notional(l)]),
        };
        if (kind === "heatmap") return { ...base, x: rows.map(when), y: rows.map((l) => l.price) };
        if (kind === "history") return { ...base, x: rows.map(when), y: rows.map(notional) };
        return { ...base, x: rows.map((l) => l.price), y: rows.map(notional) };
      };
      const traces = [marks(longs, "long"), marks(shorts, "short")];
      if (kind === "heatmap" && state.prices.length) {
        traces.push({
          type: "scatter", mode: "lines", name: "live price", meta: "live",
          x: state.prices.map((p) => new Date(p.time).toISOString().replace("Z", "")),
          y: state.prices.map((p) => p.close), line: { color: LH.COLORS.price, width: 2 },
          hovertemplate: "%{x}<br>live %{y:,.1f}<extra></extra>",
        });
      }
      return traces;
    }

    async function paint() {
      state.pending = false;
      if (!plot.data) return;
      const old = plot.data.map((t, i) => (t.meta === "live" ? i : -1)).filter((i) => i >= 0);
      if (old.length) await Plotly.deleteTraces(plot, old);
      await Plotly.addTraces(plot, liveTraces());
      if (kind === "map" && state.prices.length) {
        const price = state.prices[state.prices.length - 1].close;
        const shapes = ((plot.layout && plot.layout.shapes) || []).filter((s) => s.name !== "live price");
        shapes.push({ name: "live price", type: "line", xref: "x", x0: price, x1: price, yref: "paper", y0: 0, y1: 1,
          line: { color: LH.COLORS.price, width: 2, dash: "dot" } });
        await Plotly.relayout(plot, { shapes });
      }
      tell();
    }

    function schedule() {
      if (state.pending) return;
      state.pending = true;
      window.requestAnimationFrame(paint);
    }

    function connect() {
      if (state.source) state.source.close();
      state.symbol = symbol();
      state.liquidations = [];
      state.prices = [];
      const source = new EventSource(`/stream?symbol=${encodeURIComponent(state.symbol)}`);
      state.source = source;
      source.addEventListener("status", (e) => { state.live = JSON.parse(e.data).live; tell(); });
      source.addEventListener("liquidation", (e) => {
        state.liquidations.push({ ...JSON.parse(e.data), arrived_at: Date.now() });
        if (state.liquidations.length > MAX_MARKS) state.liquidations.shift();
        schedule();
      });
      source.addEventListener("price", (e) => {
        state.prices.push(JSON.parse(e.data));
        if (state.prices.length > MAX_PRICES) state.prices.shift();
        schedule();
      });
      source.addEventListener("marts", async () => {
        await redraw();
        schedule();
      });
      // 204 (no live source) closes the EventSource for good: the page stays as it is.
      source.onerror = () => { if (source.readyState === EventSource.CLOSED) { state.live = false; tell(); } };
    }

    // A redraw by the page (a control changed) replaces every trace: put the live ones back.
    const observer = () => { if (plot.data && !plot.data.some((t) => t.meta === "live") && state.live) schedule(); };
    if (plot.on) plot.on("plotly_afterplot", observer);
    else setInterval(observer, 500);
    connect();
    return { reconnect: connect, state };
  }

  return { start };
})();

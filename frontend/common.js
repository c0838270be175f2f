/* Shared by the pages: API calls, loading/error states, symbol and model pickers, Plotly defaults. */
"use strict";

const LH = (() => {
  const COLORS = {
    long: "#d9024b", short: "#45bf87", price: "#f0b90b",
    bg: "#0b0e11", panel: "#161a1e", grid: "#2a2e39", text: "#d1d4dc", muted: "#848e9c",
  };
  // Dark purple -> yellow, like Coinglass's heatmap.
  const HEAT_SCALE = [
    [0, "#1b0a2e"], [0.08, "#2d0f52"], [0.2, "#3b2a8c"], [0.38, "#21608d"],
    [0.58, "#1f9a8a"], [0.78, "#6ccd5a"], [1, "#fde725"],
  ];
  const MODEL_LABELS = {
    binance_standard: "Binance standard", funding_adjusted: "Funding adjusted", large_trades: "Large trades",
    learned_leverage: "Learned leverage", ensemble: "Ensemble",
  };
  const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, params = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    }
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      let detail = response.statusText || `HTTP ${response.status}`;
      if (body && typeof body.detail === "string") detail = body.detail;
      else if (body && Array.isArray(body.detail)) detail = body.detail.map((d) => d.msg).join("; ");
      throw new ApiError(response.status, detail);
    }
    return body;
  }

  function status(el, kind, text) {
    el.dataset.kind = kind;
    el.textContent = text;
  }

  function loading(plotEl, statusEl, text) {
    plotEl.classList.add("is-loading");
    status(statusEl, "loading", text);
  }

  function done(plotEl, statusEl, kind, text) {
    plotEl.classList.remove("is-loading");
    status(statusEl, kind, text);
  }

  function usd(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    const abs = Math.abs(value);
    if (abs >= 1e9) return `${(value / 1e9).toFixed(2)}B`;
    if (abs >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
    if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}K`;
    return value.toFixed(0);
  }

  function price(value) {
    return value === null || value === undefined ? "–" : value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }

  function layout(extra = {}) {
    const axis = { gridcolor: COLORS.grid, zerolinecolor: COLORS.grid, linecolor: COLORS.grid, color: COLORS.muted };
    const narrow = window.innerWidth < 700;
    return {
      paper_bgcolor: COLORS.bg,
      plot_bgcolor: COLORS.bg,
      font: { color: COLORS.text, size: narrow ? 10 : 12 },
      margin: { l: narrow ? 48 : 64, r: narrow ? 44 : 64, t: 28, b: 40 },
      legend: { orientation: "h", y: 1.1, x: 0, bgcolor: "rgba(0,0,0,0)" },
      hovermode: "closest",
      ...extra,
      xaxis: { ...axis, ...(extra.xaxis || {}) },
      yaxis: { ...axis, ...(extra.yaxis || {}) },
      ...(extra.yaxis2 ? { yaxis2: { ...axis, ...extra.yaxis2 } } : {}),
    };
  }

  /* API times are UTC with a Z; Plotly's date axes want them without an offset (shown as UTC). */
  function plotTime(text) {
    return text.replace(/(\.\d+)?Z$/, "");
  }

  function readable(text) {
    return text ? `${plotTime(text).replace("T", " ")} UTC` : "–";
  }

  function params() {
    return new URLSearchParams(window.location.search);
  }

  function remember(values) {
    const search = params();
    for (const [key, value] of Object.entries(values)) {
      if (value === null || value === undefined || value === "") search.delete(key);
      else search.set(key, value);
    }
    window.history.replaceState(null, "", `${window.location.pathname}?${search}`);
  }

  function fill(select, options, chosen) {
    select.replaceChildren(
      ...options.map(([value, label]) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = label;
        return option;
      }),
    );
    if (chosen !== null && options.some(([value]) => value === chosen)) select.value = chosen;
  }

  /* Health, symbols and the models of the chosen symbol. Throws ApiError when nothing is built. */
  async function catalog() {
    const health = await api("/health");
    if (health.status !== "ok") throw new ApiError(503, health.detail);
    const { symbols } = await api("/symbols");
    if (!symbols.length) throw new ApiError(503, "the warehouse holds no symbol yet: run `liquidationheatmap build`");
    return { health, symbols };
  }

  function pickSymbol(select, symbols) {
    fill(select, symbols.map((s) => [s.symbol, s.symbol]), params().get("symbol"));
    return symbols.find((s) => s.symbol === select.value);
  }

  function pickModel(select, info, wanted) {
    const models = info.models.length ? info.models : ["binance_standard"];
    fill(select, models.map((m) => [m, MODEL_LABELS[m] || m]), wanted ?? params().get("model"));
  }

  function nav(page) {
    const link = document.querySelector(`header.top nav a[data-page="${page}"]`);
    if (link) link.setAttribute("aria-current", "page");
  }

  function purge(el) {
    if (el && el.data) window.Plotly.purge(el);
  }

  // A draw whose request failed: clear the plot and its summary, and say what went wrong.
  function failed(plot, statusEl, summary, error) {
    purge(plot);
    done(plot, statusEl, "error", error.message);
    summary.textContent = "";
  }

  // Draws overlap when a control changes again before the answer comes: only the newest counts.
  // `const newest = latest();` then `await newest(load, onError)` runs load() and gives its result,
  // or null when a newer call started meanwhile or load() failed (onError(error) then, if newest).
  function latest() {
    let sequence = 0;
    return async function newest(load, onError) {
      const mine = ++sequence;
      try {
        const result = await load();
        return mine === sequence ? result : null;
      } catch (error) {
        if (mine === sequence) onError(error);
        return null;
      }
    };
  }

  return {
    COLORS, HEAT_SCALE, MODEL_LABELS, PLOT_CONFIG, ApiError, api, status, loading, done, usd, price, layout,
    plotTime, readable, params, remember, fill, catalog, pickSymbol, pickModel, nav, purge,
    failed, latest,
  };
})();

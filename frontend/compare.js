/* Model comparison: the scores table (fct_model_scores) and two models' heatmaps on one colour scale. */
"use strict";

(async () => {
  LH.nav("compare");
  const el = Object.fromEntries(
    ["symbol", "model-a", "model-b", "timeframe", "horizon", "window", "status", "scores-status", "scores", "plot-history", "plot-a", "plot-b", "title-a", "title-b"]
      .map((id) => [id, document.getElementById(id)]),
  );
  const METRICS = [
    ["overlap", "overlap", "max"],
    ["skill", "skill", "max"],
    ["emd_pct", "emd %", "min"],
    ["calibration", "calibration", "one"],
    ["hourly_correlation", "hourly correlation", "max"],
  ];
  const REFERENCES = ["oracle", "uniform", "proximity"];
  // window_id 0 of fct_model_scores: every complete window's test span pooled (the headline).
  const POOLED = 0;
  const day = (text) => (text ? text.slice(0, 16).replace("T", " ") : "–");
  let symbols;
  let health;
  try {
    ({ symbols, health } = await LH.catalog());
  } catch (error) {
    LH.done(el["plot-a"], el.status, "error", error.message);
    LH.status(el["scores-status"], "error", error.message);
    return;
  }
  let info = LH.pickSymbol(el.symbol, symbols);
  const wanted = LH.params();

  function pickModels() {
    const models = info.models.length ? info.models : ["binance_standard"];
    LH.fill(el["model-a"], models.map((m) => [m, LH.MODEL_LABELS[m] || m]), wanted.get("a") || models[0]);
    LH.fill(el["model-b"], models.map((m) => [m, LH.MODEL_LABELS[m] || m]), wanted.get("b") || models[Math.min(1, models.length - 1)]);
  }
  pickModels();
  if (wanted.get("timeframe")) el.timeframe.value = wanted.get("timeframe");

  function best(rows, direction) {
    const values = rows.map((r) => r.value).filter((v) => v !== null);
    if (!values.length) return null;
    if (direction === "max") return Math.max(...values);
    if (direction === "min") return Math.min(...values);
    return values.reduce((a, b) => (Math.abs(b - 1) < Math.abs(a - 1) ? b : a));
  }

  let scoreRows = null;

  async function scores() {
    if (!health.marts.fct_model_scores) {
      LH.status(el["scores-status"], "empty",
        "Model scores are not built yet (fct_model_scores, from the scoring dbt models): run `liquidationheatmap build` once they are in the project.");
      el.scores.replaceChildren();
      LH.purge(el["plot-history"]);
      return;
    }
    LH.status(el["scores-status"], "loading", "Loading scores…");
    try {
      scoreRows = (await LH.api("/model-scores", { symbol: el.symbol.value })).scores.filter((s) => s.side === "all");
    } catch (error) {
      LH.status(el["scores-status"], "error", error.message);
      return;
    }
    const windows = [...new Set(scoreRows.map((r) => r.window_id))].sort((a, b) => a - b);
    const spans = Object.fromEntries(scoreRows.map((r) => [r.window_id, r]));
    const tested = windows.filter((w) => w !== POOLED);
    const options = windows.map((w) => [String(w), w === POOLED
      ? `All ${tested.length} test windows pooled`
      : `Window ${w} · test from ${day(spans[w].period_start)}`]);
    const chosen = el.window.value || wanted.get("window") || String(POOLED);
    LH.fill(el.window, options, options.some(([v]) => v === chosen) ? chosen : String(POOLED));
    // The history first: the status turns ready (table) once both are drawn.
    await history();
    table();
  }

  function table() {
    const horizon = Number(el.horizon.value);
    const windowId = Number(el.window.value);
    // Placement metrics of the chosen horizon; calibration and correlation are per window (no horizon).
    const rows = (scoreRows || []).filter((s) => s.window_id === windowId && (s.horizon_hours === null || s.horizon_hours === horizon));
    if (!rows.length) {
      LH.status(el["scores-status"], "empty", "No scores for this symbol.");
      el.scores.replaceChildren();
      return;
    }
    const names = [...new Set(rows.map((r) => r.model))];
    const models = names.filter((m) => !REFERENCES.includes(m));
    const references = REFERENCES.filter((m) => names.includes(m));
    const tableEl = document.createElement("table");
    tableEl.className = "scores";
    const head = tableEl.createTHead().insertRow();
    for (const text of ["map", ...METRICS.map((m) => m[1])]) {
      const th = document.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    }
    const body = tableEl.createTBody();
    for (const model of [...models, ...references]) {
      const tr = body.insertRow();
      const reference = references.includes(model);
      if (reference) tr.className = "reference";
      tr.insertCell().textContent = `${LH.MODEL_LABELS[model] || model}${reference ? " (reference)" : ""}`;
      for (const [metric, , direction] of METRICS) {
        const cell = tr.insertCell();
        const row = rows.find((r) => r.model === model && r.metric === metric);
        // The best is chosen among the models only: reference maps are yardsticks.
        const peers = rows.filter((r) => r.metric === metric && models.includes(r.model));
        if (!row || row.value === null) {
          cell.textContent = "–";
          continue;
        }
        const interval = row.low !== null && row.high !== null ? ` [${row.low.toFixed(2)}, ${row.high.toFixed(2)}]` : "";
        cell.textContent = row.value.toFixed(3) + interval;
        if (!reference && row.value === best(peers, direction)) cell.className = "best";
      }
    }
    el.scores.replaceChildren(tableEl);
    const span = rows[0];
    const which = windowId === POOLED ? "all test windows pooled" : `window ${windowId}`;
    LH.status(el["scores-status"], "ready",
      `Side: longs and shorts pooled · ${horizon} h windows · ${which}, test ${day(span.period_start)} – ${day(span.period_end)}. Best model per metric in green; reference maps in grey.`);
  }

  // Skill per window (x: the window's test span start) and model, one line each, at the chosen horizon.
  async function history() {
    const horizon = Number(el.horizon.value);
    const rows = (scoreRows || []).filter((s) => s.window_id !== POOLED && s.metric === "skill" && s.horizon_hours === horizon && !REFERENCES.includes(s.model));
    const models = [...new Set(rows.map((r) => r.model))];
    const traces = models.map((model) => {
      const mine = rows.filter((r) => r.model === model).sort((a, b) => a.window_id - b.window_id);
      return {
        type: "scatter", mode: "lines+markers", name: LH.MODEL_LABELS[model] || model,
        x: mine.map((r) => r.period_start), y: mine.map((r) => r.value),
        customdata: mine.map((r) => r.window_id),
        hovertemplate: `${LH.MODEL_LABELS[model] || model}<br>window %{customdata} · test from %{x}<br>skill %{y:.3f}<extra></extra>`,
      };
    });
    await Plotly.react(el["plot-history"], traces, LH.layout({
      xaxis: { title: { text: "test span (start)" }, type: "date" },
      yaxis: { title: { text: `skill, ${horizon} h` }, zeroline: true },
    }), LH.PLOT_CONFIG);
  }

  const newest = LH.latest();
  async function heatmaps() {
    const symbol = el.symbol.value;
    const timeframe = el.timeframe.value;
    const models = [el["model-a"].value, el["model-b"].value];
    LH.remember({ symbol, a: models[0], b: models[1], timeframe });
    for (const id of ["plot-a", "plot-b"]) el[id].classList.add("is-loading");
    LH.status(el.status, "loading", `Loading two ${timeframe} heatmaps…`);
    const maps = await newest(
      () => Promise.all(models.map((model) => LH.api("/liquidations/heatmap", { symbol, model, timeframe }))),
      (error) => {
        for (const id of ["plot-a", "plot-b"]) LH.purge(el[id]);
        LH.done(el["plot-b"], el.status, "error", error.message);
        el["plot-a"].classList.remove("is-loading");
      },
    );
    if (!maps) return;
    const zmax = Math.max(Heat.colourMax(maps[0].z), Heat.colourMax(maps[1].z));
    await Promise.all(maps.map((data, i) => {
      const id = i ? "plot-b" : "plot-a";
      el[i ? "title-b" : "title-a"].textContent = LH.MODEL_LABELS[data.model] || data.model;
      return Plotly.react(el[id], Heat.traces(data, zmax, false), Heat.layout(), LH.PLOT_CONFIG);
    }));
    el["plot-a"].classList.remove("is-loading");
    LH.done(el["plot-b"], el.status, maps[0].times.length ? "ready" : "empty",
      maps[0].times.length ? `${symbol} · ${timeframe} · one colour scale up to ${LH.usd(zmax)} USDT per cell`
        : "No heatmap cells for this choice.");
  }

  el.symbol.addEventListener("change", () => {
    info = symbols.find((s) => s.symbol === el.symbol.value);
    pickModels();
    scores();
    heatmaps();
  });
  for (const id of ["model-a", "model-b", "timeframe"]) el[id].addEventListener("change", heatmaps);
  el.horizon.addEventListener("change", async () => { await history(); table(); });
  el.window.addEventListener("change", () => { LH.remember({ window: el.window.value }); table(); });
  scores();
  heatmaps();
})();

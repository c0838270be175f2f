/* Model comparison: the scores table (fct_model_scores) and two models' heatmaps on one colour scale. */
"use strict";

(async () => {
  LH.nav("compare");
  const el = Object.fromEntries(
    ["symbol", "model-a", "model-b", "timeframe", "horizon", "status", "scores-status", "scores", "plot-a", "plot-b", "title-a", "title-b"]
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

  async function scores() {
    if (!health.marts.fct_model_scores) {
      LH.status(el["scores-status"], "empty",
        "Model scores are not built yet (fct_model_scores, from the scoring dbt models): run `liquidationheatmap build` once they are in the project.");
      el.scores.replaceChildren();
      return;
    }
    LH.status(el["scores-status"], "loading", "Loading scores…");
    let data;
    try {
      data = await LH.api("/model-scores", { symbol: el.symbol.value });
    } catch (error) {
      LH.status(el["scores-status"], "error", error.message);
      return;
    }
    const horizon = Number(el.horizon.value);
    // Placement metrics of the chosen horizon; calibration and correlation are per period (no horizon).
    const rows = data.scores.filter((s) => s.side === "all" && (s.horizon_hours === null || s.horizon_hours === horizon));
    if (!rows.length) {
      LH.status(el["scores-status"], "empty", "No scores for this symbol.");
      el.scores.replaceChildren();
      return;
    }
    const periods = [...new Set(rows.map((r) => r.period))];
    const names = [...new Set(rows.map((r) => r.model))];
    const models = names.filter((m) => !REFERENCES.includes(m));
    const references = REFERENCES.filter((m) => names.includes(m));
    const table = document.createElement("table");
    table.className = "scores";
    const head = table.createTHead().insertRow();
    for (const text of ["map · period", ...METRICS.map((m) => m[1])]) {
      const th = document.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const period of periods) {
      for (const model of [...models, ...references]) {
        const tr = body.insertRow();
        const reference = references.includes(model);
        if (reference) tr.className = "reference";
        tr.insertCell().textContent = `${LH.MODEL_LABELS[model] || model}${reference ? " (reference)" : ""} · ${period}`;
        for (const [metric, , direction] of METRICS) {
          const cell = tr.insertCell();
          const row = rows.find((r) => r.model === model && r.period === period && r.metric === metric);
          // The best is chosen among the models only: reference maps are yardsticks.
          const peers = rows.filter((r) => r.period === period && r.metric === metric && models.includes(r.model));
          if (!row || row.value === null) {
            cell.textContent = "–";
            continue;
          }
          const interval = row.low !== null && row.high !== null ? ` [${row.low.toFixed(2)}, ${row.high.toFixed(2)}]` : "";
          cell.textContent = row.value.toFixed(3) + interval;
          if (!reference && row.value === best(peers, direction)) cell.className = "best";
        }
      }
    }
    el.scores.replaceChildren(table);
    LH.status(el["scores-status"], "ready",
      `Side: longs and shorts pooled · ${horizon} h windows. Best model per period and metric in green; reference maps in grey.`);
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
  el.horizon.addEventListener("change", scores);
  scores();
  heatmaps();
})();

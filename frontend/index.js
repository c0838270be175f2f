/* Index: what the warehouse holds and how fresh it is. */
"use strict";

(async () => {
  const statusEl = document.getElementById("status");
  const freshness = document.getElementById("freshness");
  try {
    const health = await LH.api("/health");
    if (health.status !== "ok") {
      LH.status(statusEl, "error", health.detail);
      return;
    }
    LH.status(statusEl, "ready", `Warehouse built ${LH.readable(health.built_at.slice(0, 19) + "Z")}.`);
    freshness.textContent = health.symbols
      .map((s) => `${s.symbol}: data up to ${LH.readable(s.latest_data_at)}`)
      .join(" · ");
  } catch (error) {
    LH.status(statusEl, "error", `The API did not answer: ${error.message}`);
  }
})();

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
    LH.status(statusEl, "ready", `Warehouse built ${health.built_at.replace("T", " ").slice(0, 19)} UTC.`);
    freshness.textContent = health.symbols
      .map((s) => `${s.symbol}: data up to ${(s.latest_data_at || "–").replace("T", " ")} UTC`)
      .join(" · ");
  } catch (error) {
    LH.status(statusEl, "error", `The API did not answer: ${error.message}`);
  }
})();

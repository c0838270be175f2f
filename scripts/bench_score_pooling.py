"""The pooled scores (fct_model_scores' window 0) computed two ways on a built warehouse, timed and compared.

  rows    as before int_scoring__window_sums: every complete window's placement rows, the hourly
          predicted history and the truth read whole, scored at once (python_models.scoring.score_periods);
  sums    from int_scoring__window_sums: a few rows per window, pooled (score_sums, pool_moments),
          what fct_model_scores does now.

Prints the rows each way reads, the best of --repeat wall and CPU seconds (reading included), and the
largest difference between the two results (keys must match; values within --rtol). Reads dbt's
working database read-only (a warehouse path is mapped to it):

    uv run python scripts/bench_score_pooling.py <work>/90d-1000000-synthetic/warehouse/liquidations.duckdb
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from python_models.scoring import (  # noqa: E402
    DAY_SUM_KEYS,
    DAY_SUM_VALUES,
    MOMENT_VALUES,
    pool_moments,
    score_periods,
    score_sums,
)
from python_models.truth import prepare_truth  # noqa: E402

TRUTH = "symbol, liquidated_at as time, position_side as side, fill_price as price, fill_quantity as quantity"
HOURLY = (
    "select symbol, model, date_trunc('hour', bucket_start) as bucket_start, side,"
    " sum(liquidated_notional) as liquidated_notional from {table} group by 1, 2, 3, 4"
)
KEYS = ["symbol", "model", "side", "horizon_hours", "metric"]


def _spans(con) -> dict[int, tuple[pd.Timestamp, pd.Timestamp]]:
    rows = con.sql(
        "select window_id, period_start, period_end from int_scoring__periods"
        " where period = 'test' and is_complete order by window_id"
    ).fetchall()
    return {int(w): (pd.Timestamp(s), pd.Timestamp(e)) for w, s, e in rows}


def from_rows(con, spans) -> tuple[pd.DataFrame, int]:
    ids = ", ".join(str(w) for w in spans)
    placement = con.sql(
        f"select * from int_scoring__placement where model is not null and window_id in ({ids})"
    ).df()
    placement["horizon_hours"] = placement["horizon_hours"].astype("int64")
    history = pd.concat(
        [
            con.sql(HOURLY.format(table=t)).df()
            for t in ("fct_liquidation_history", "fct_liquidation_history_ensemble")
        ],
        ignore_index=True,
    )
    truth = prepare_truth(con.sql(f"select {TRUTH} from stg_truth__liquidations").df())
    start, end = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    out = score_periods(placement, history, truth, periods={"pooled": (start, end)})
    return out, len(placement) + len(history) + len(truth)


def from_sums(con, spans) -> tuple[pd.DataFrame, int]:
    ids = ", ".join(str(w) for w in spans)
    sums = con.sql(
        f"select * from int_scoring__window_sums where window_id in ({ids})"
        " order by window_id, part, symbol, model, side, horizon_hours, day"
    ).df()
    days = sums[sums["part"] == "placement"][["window_id", *DAY_SUM_KEYS, *DAY_SUM_VALUES]]
    days = days.assign(horizon_hours=days["horizon_hours"].astype("int64"))
    moments = sums[sums["part"] == "history"].rename(
        columns={"predicted_notional": "predicted", "true_notional": "true"}
    )
    moments = moments[["window_id", "symbol", "model", "side", *MOMENT_VALUES]]
    moments = moments.assign(model=moments["model"].astype(object).where(moments["model"].notna(), None))
    pooled_days = days.groupby(DAY_SUM_KEYS, sort=True, as_index=False)[DAY_SUM_VALUES].sum()
    hours = {str(w): (e - s) / pd.Timedelta(hours=1) for w, (s, e) in spans.items()}
    pooled_moments = pool_moments(moments.assign(period=moments["window_id"].astype(str)), "pooled", hours)
    return score_sums(pooled_days.assign(period="pooled"), pooled_moments), len(sums)


def _timed(function, con, spans, repeat: int):
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out, rows = function(con, spans)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return out, rows, best_wall, best_cpu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouse", type=Path, help="the warehouse (or its working database) of a build")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rtol", type=float, default=1e-9)
    args = parser.parse_args()
    path = args.warehouse
    if not path.name.endswith(".working.duckdb"):
        path = path.with_name(f"{path.stem}.working{path.suffix or '.duckdb'}")
    if not path.exists():
        raise SystemExit(f"{path}: no such working database (build the warehouse first)")
    with duckdb.connect(str(path), read_only=True) as con:
        spans = _spans(con)
        if not spans:
            raise SystemExit(f"{path}: no complete evaluation window to pool")
        old, old_rows, old_wall, old_cpu = _timed(from_rows, con, spans, args.repeat)
        new, new_rows, new_wall, new_cpu = _timed(from_sums, con, spans, args.repeat)
    print(f"{path}: {len(spans)} complete windows pooled")
    for label, rows, wall, cpu in (
        ("every row", old_rows, old_wall, old_cpu),
        ("the sums", new_rows, new_wall, new_cpu),
    ):
        print(f"  from {label + ':':<11} {rows:>10,} rows read, {wall:6.2f} s wall, {cpu:6.2f} s CPU", end="")
        print(f" (best of {args.repeat})")
    left = old.set_index(KEYS).sort_index()
    right = new.set_index(KEYS).sort_index()
    if not left.index.equals(right.index):
        print(
            f"  DIFFERENT KEYS: {len(left.index.difference(right.index))} only before, "
            f"{len(right.index.difference(left.index))} only now"
        )
        return 1
    worst = 0.0
    for column in ("value", "low", "high", "n"):
        a, b = left[column].to_numpy(dtype="float64"), right[column].to_numpy(dtype="float64")
        both = np.isfinite(a) & np.isfinite(b)
        if not np.array_equal(np.isfinite(a), np.isfinite(b)):
            print(f"  {column}: defined in one and not the other")
            return 1
        scale = np.maximum(np.abs(a[both]), 1e-300)
        worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / scale, initial=0.0)))
    print(f"  {len(left):,} figures, largest relative difference {worst:.1e}")
    return 0 if worst <= args.rtol else 1


if __name__ == "__main__":
    sys.exit(main())

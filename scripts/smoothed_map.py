"""Why do the maps lose to a flat map on larger markets, and does smoothing them help? A diagnostic.

On a built (simulated) warehouse's working database, per path-conditioned scoring window (the
windows, truth cells and oracle cells of the build; docs/model_scoring.md) and per model variant:

1. **Granularity**: the effective number of bins, 1 / sum(x^2), of the normalised true liquidations
   q, the oracle o and the model's map p on the traversed bins, weighted by the window's true
   notional like the scores. With few positions a window's truth is a few spikes (q's effective
   bins well below the traversed bins), so a spiky map is not punished; with many it is a smooth
   density (q nearly as spread as the traversed range), and uniform is hard to beat.
2. **Smoothed maps**: the variant's whole map at t (int_scoring__live_notional_per_bucket, the
   bucket before t) smoothed by a Gaussian of sigma price bins (python_models.smoothing), then read
   on the traversed bins and scored like the build (overlap; skill against the build's uniform and
   oracle). Fixed sigmas, and sigma **fitted walk-forward**: per complete window of
   int_scoring__periods, the sigma of the best weighted 1 h overlap on its TRAIN span, applied to its
   TEST span (both horizons). Every input of a smoothed map at t is the map at t and a sigma fitted
   before t, so it could be served.

3. **Smoothed by distance**: the kernel widening with the cell's distance from the price at t,
   sigma = max(0.5, rate x distance in bins) (python_models.smoothing.smooth_by_distance; a
   level's liquidation price is uncertain in proportion to its distance from the entry).

Prints per variant and horizon the pooled test skill for each sigma, the fitted one and each
rate, with the fitted sigma per window:

    uv run python scripts/smoothed_map.py <warehouse.duckdb> [...] [--until 2026-10-04]

--until keeps only the windows (and their spans) that end by that date: on the benchmark markets,
whose test spans must not decide anything, `--until <the end of window 1's train span>` and
`--train-days 2` make a walk-forward entirely inside the first train span. Reads truth/positions
only through the oracle cells, as the scoring does (for the skill's denominator).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liquidationheatmap.publish import working_database
from python_models.smoothing import fit_sigma, smooth_by_distance, smooth_on_bins

SIGMAS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
RATES = (0.2, 0.3)
MODELS = ("binance_standard", "learned_leverage")


def _window_scores(con, until: str | None, sigmas, rates, models, max_sigma: float) -> pd.DataFrame:
    end = (
        f"and window_start + to_hours(cast(horizon_hours as integer)) <= timestamp '{until}'" if until else ""
    )
    windows = con.sql(f"select * from int_scoring__windows where 1 = 1 {end}").df()
    size = float(windows["score_bin_size"].iloc[0])
    names = ", ".join(f"'{m}'" for m in models)
    live = con.sql(
        f"""select bucket_start + to_minutes(5) as window_start, side, model,
                   cast(floor(round(price_bin / {size})) as bigint) as score_bin, sum(live_notional) as v
            from int_scoring__live_notional_per_bucket where model in ({names})
            group by all"""
    ).df()
    truth = con.sql(
        "select window_start, horizon_hours, side, score_bin, liquidated_notional as v"
        " from int_scoring__window_truth_cells"
    ).df()
    oracle = con.sql(
        "select window_start, horizon_hours, side, score_bin, open_notional as v"
        " from int_scoring__window_oracle_cells"
    ).df()
    maps = {
        k: (g["score_bin"].to_numpy(), g["v"].to_numpy())
        for k, g in live.groupby(["window_start", "side", "model"])
    }
    truths = {k: g for k, g in truth.groupby(["window_start", "horizon_hours", "side"])}
    oracles = {
        k: (g["score_bin"].to_numpy(), g["v"].to_numpy())
        for k, g in oracle.groupby(["window_start", "horizon_hours", "side"])
    }
    empty = (np.array([], dtype="int64"), np.array([]))
    rows = []
    for w in windows.itertuples():
        key = (w.window_start, w.horizon_hours, w.side)
        if key not in truths:
            continue
        low, high = int(w.low_bin), int(w.high_bin)
        g = truths[key]
        q = smooth_on_bins(g["score_bin"].to_numpy(), g["v"].to_numpy(), 0.0, low, high)
        weight = q.sum()
        if weight <= 0:
            continue
        q = q / weight
        n = high - low + 1
        row = {
            "window_start": w.window_start,
            "horizon_hours": w.horizon_hours,
            "side": w.side,
            "weight": weight,
            "bins": n,
            "uniform": float(np.minimum(1.0 / n, q).sum()),
            "eff_truth": 1.0 / float(np.sum(q * q)),
        }
        o = smooth_on_bins(*oracles.get(key, empty), 0.0, low, high)
        row["oracle"] = float(np.minimum(o / o.sum(), q).sum()) if o.sum() > 0 else 0.0
        row["eff_oracle"] = 1.0 / float(np.sum((o / o.sum()) ** 2)) if o.sum() > 0 else np.nan
        for model in models:
            cells = maps.get((w.window_start, w.side, model), empty)
            for sigma in sigmas:
                p = smooth_on_bins(*cells, sigma, low, high)
                total = p.sum()
                row[f"{model}|{sigma}"] = float(np.minimum(p / total, q).sum()) if total > 0 else 0.0
                if sigma == 0:
                    row[f"eff|{model}"] = 1.0 / float(np.sum((p / total) ** 2)) if total > 0 else np.nan
            price_bin = int(np.floor(w.start_price / w.score_bin_size))
            for rate in rates:
                p = smooth_by_distance(*cells, price_bin, rate, low, high, max_sigma=max_sigma)
                total = p.sum()
                row[f"{model}|r{rate}"] = float(np.minimum(p / total, q).sum()) if total > 0 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def _mean(frame: pd.DataFrame, column: str) -> float:
    known = frame[frame[column].notna()]
    return float(np.average(known[column], weights=known["weight"])) if len(known) else float("nan")


def _skill(frame: pd.DataFrame, column: str) -> float:
    uniform, oracle = _mean(frame, "uniform"), _mean(frame, "oracle")
    return (_mean(frame, column) - uniform) / (oracle - uniform) if oracle > uniform else float("nan")


def _inside(frame: pd.DataFrame, start, end) -> pd.DataFrame:
    ends = frame["window_start"] + pd.to_timedelta(frame["horizon_hours"], unit="h")
    return frame[(frame["window_start"] >= start) & (ends <= end)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("warehouses", type=Path, nargs="+")
    parser.add_argument("--until", help="only windows and spans ending by this date (YYYY-MM-DD)")
    parser.add_argument(
        "--train-days",
        type=float,
        help="train span of a walk-forward of its own (default: the build's windows)",
    )
    parser.add_argument(
        "--sigmas", type=float, nargs="+", default=list(SIGMAS), help="candidate sigmas, in price bins"
    )
    parser.add_argument(
        "--rates",
        type=float,
        nargs="+",
        default=list(RATES),
        help="kernels widening with the distance from the price: sigma = max(0.5, rate x distance in bins)",
    )
    parser.add_argument(
        "--max-sigma", type=float, default=float("inf"), help="cap of the widening kernels' sigma, in bins"
    )
    args = parser.parse_args()
    sigmas = sorted(set([0.0, *args.sigmas]))
    for warehouse in args.warehouses:
        con = duckdb.connect(str(working_database(warehouse)), read_only=True)
        scores = _window_scores(con, args.until, sigmas, args.rates, MODELS, args.max_sigma)
        periods = con.sql("select * from int_scoring__periods where is_complete").df()
        con.close()
        if args.train_days:
            first = scores["window_start"].min().normalize()
            last = pd.Timestamp(args.until) if args.until else scores["window_start"].max().normalize()
            train = timedelta(days=args.train_days)
            spans, k, start = [], 1, first
            while start + train + timedelta(days=1) <= last:
                spans.append((k, start, start + train, start + train + timedelta(days=1)))
                k, start = k + 1, start + timedelta(days=1)
        else:
            wide = periods.pivot(index="window_id", columns="period", values=["period_start", "period_end"])
            spans = [
                (k, r[("period_start", "train")], r[("period_end", "train")], r[("period_end", "test")])
                for k, r in wide.iterrows()
                if not args.until or r[("period_end", "test")] <= pd.Timestamp(args.until)
            ]
        print(
            f"\n{warehouse}: {len(spans)} walk-forward windows, tests "
            f"{spans[0][2] if spans else '-'} - {spans[-1][3] if spans else '-'}"
        )
        tests, fitted = [], {m: [] for m in MODELS}
        for _k, start, middle, end in spans:
            train = _inside(scores, start, middle)
            test = _inside(scores, middle, end).copy()
            train_1h = train[train["horizon_hours"] == 1]
            for model in MODELS:
                best = fit_sigma(
                    {s: _mean(train_1h, f"{model}|{s}") for s in sigmas} if len(train_1h) else {}
                )
                fitted[model].append(best)
                test[f"{model}|fitted"] = test[f"{model}|{best}"]
            tests.append(test)
        test = pd.concat(tests) if tests else scores.iloc[0:0]
        for h, frame in test.groupby("horizon_hours"):
            print(
                f"  {h} h test: {len(frame)} windows, traversed bins {_mean(frame, 'bins'):.1f}, "
                "effective bins "
                f"truth {_mean(frame, 'eff_truth'):.1f} oracle {_mean(frame, 'eff_oracle'):.1f} "
                + " ".join(f"{m} {_mean(frame, 'eff|' + m):.1f}" for m in MODELS)
                + f"; overlap uniform {_mean(frame, 'uniform'):.3f} oracle {_mean(frame, 'oracle'):.3f}"
            )
            for model in MODELS:
                cells = " ".join(f"s{s:g} {_skill(frame, f'{model}|{s}'):+.2f}" for s in sigmas)
                cells += " | by distance " + " ".join(
                    f"r{r:g} {_skill(frame, f'{model}|r{r}'):+.3f}" for r in args.rates
                )
                print(
                    f"    {model:17s} skill by sigma: {cells} "
                    f"| fitted {_skill(frame, f'{model}|fitted'):+.2f}"
                )
        for model in MODELS:
            print(f"  fitted sigma per window ({model}): {' '.join(f'{s:g}' for s in fitted[model])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of every model on markets unlike the default one: the test-period scores per market.

Simulates each market (the default and knob settings, docs/simulator.md "Knobs") for each seed,
ingests it, builds it (the ensemble weights fitted on the train half, as `build` does by default),
and prints per market the test-period table of `liquidationheatmap score`: overlap and skill with
their 90 % day-block bootstrap intervals, emd %, calibration and hourly correlation, per model and
reference map, 1 h and 4 h. Then one summary line per market against the issue's goals (the best
non-reference model's skill >= 0.6 at 1 h and >= 0.4 at 4 h, calibration within 0.8-1.25, the
ensemble at least as good as the best single model); a goal not met is printed as such, with the
figures. The models are never tuned on these markets.

    uv run python scripts/bench_accuracy.py                          # 4 markets x 2 seeds, 14 days, 500k/day
    uv run python scripts/bench_accuracy.py --days 3 --trades-per-day 50000 --seeds 1   # a quick look

Simulations, lakes and warehouses are kept under --work: a market is simulated and ingested once
(`--simulate-only` does only that), a market already built is not built again; after a model
change `--rebuild-models` builds every warehouse again from the kept lakes without simulating
(`--rebuild` starts from scratch). Builds run one after another (one heavy job at a time).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from liquidationheatmap.scores import load_scores, markdown
from liquidationheatmap.simulate import MarketKnobs

START = date(2026, 10, 1)


@dataclass(frozen=True)
class Market:
    name: str
    knobs: MarketKnobs
    why: str


MARKETS = (
    Market("default", MarketKnobs(), "the market the simulator was written for"),
    Market(
        "high-leverage-short-lived",
        MarketKnobs(taker_leverage_median=20.0, holding_time_scale=0.5),
        "takers at 3x the default median leverage, holding half as long",
    ),
    Market(
        "calm-long-lived-trend",
        MarketKnobs(volatility_scale=0.6, holding_time_scale=3.0, drift_per_day=0.02),
        "quieter news, positions held 3x longer, price drifting up ~2 %/day",
    ),
    Market(
        "taker-heavy-wild",
        MarketKnobs(maker_share=0.4, volatility_scale=1.5, drift_per_day=-0.02),
        "60 % of openings meet another taker, 1.5x news, drifting down",
    ),
)


def _market_folder(root: Path, market: Market, seed: int, args: argparse.Namespace) -> Path:
    return root / f"{market.name}-seed{seed}-{args.days}d-{args.trades_per_day}"


def _simulate(folder: Path, market: Market, seed: int, args: argparse.Namespace) -> tuple[Path, float]:
    """Simulate and ingest one market once: the lake is kept, so a model change only rebuilds.

    A `.complete` marker is written after each step; a folder without it (an interrupted run) is
    simulated or ingested again from scratch.
    """
    from liquidationheatmap.ingest import ingest_archive
    from liquidationheatmap.simulate import simulate_market

    raw, lake = folder / "raw", folder / "lake"
    began = time.perf_counter()
    if not (raw / ".complete").exists():
        shutil.rmtree(raw, ignore_errors=True)
        simulate_market(
            raw,
            ["BTCUSDT"],
            START,
            args.days,
            args.trades_per_day,
            seed,
            show_progress=False,
            knobs=market.knobs,
        )
        (raw / ".complete").write_text("simulated\n")
    if not (lake / ".complete").exists():
        shutil.rmtree(lake, ignore_errors=True)
        # Every dataset the simulator writes, markPriceKlines included (the lifecycle and the
        # traversed range use the mark price where it is ingested).
        ingest_archive(raw / "data", lake, show_progress=False, workers=1)
        (lake / ".complete").write_text("ingested\n")
    return lake, time.perf_counter() - began


def _build(folder: Path, args: argparse.Namespace) -> tuple[Path, float]:
    """Build the market's warehouse from its lake (again with --rebuild-models)."""
    from liquidationheatmap.dbt_runner import build_warehouse

    warehouse = folder / "warehouse" / "liquidations.duckdb"
    if args.rebuild_models and (folder / "warehouse").exists():
        shutil.rmtree(folder / "warehouse")
    if warehouse.exists():
        return warehouse, 0.0
    began = time.perf_counter()
    outcome = build_warehouse(
        folder / "lake", warehouse, truth=folder / "raw" / "truth", memory_limit=args.memory_limit
    )
    if not outcome.success:
        failures = [(n.name, n.message) for n in outcome.failures]
        raise SystemExit(f"bench_accuracy: the build of {folder} failed: {failures or outcome.error}")
    return warehouse, time.perf_counter() - began


def _goals(report) -> str:
    """One line: the best model's skill at 1 h and 4 h, its calibration, and the ensemble vs the best."""
    parts = []
    for period in report.periods:
        if period.period != "test":
            continue
        singles = [m for m in period.models if m != "ensemble"]
        skills = {m: period.value(m, "skill") for m in singles}
        skills = {m: v for m, v in skills.items() if v is not None}
        if not skills:
            parts.append(f"{period.horizon_hours} h: no skill (no judged truth)")
            continue
        best = max(skills, key=skills.get)
        goal = 0.6 if period.horizon_hours == 1 else 0.4
        ensemble = period.value("ensemble", "skill")
        calibration = period.value(best, "calibration")
        text = f"{period.horizon_hours} h: best {best} skill {skills[best]:.2f} (goal >= {goal}: "
        text += "met" if skills[best] >= goal else "NOT met"
        text += f"), calibration {calibration:.2f} (" if calibration is not None else "), calibration – ("
        text += "met" if calibration is not None and 0.8 <= calibration <= 1.25 else "NOT met"
        text += "), ensemble "
        if ensemble is None:
            text += "–"
        else:
            text += f"{ensemble:.2f} (" + ("met" if ensemble >= skills[best] - 1e-9 else "NOT met") + ")"
        parts.append(text)
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=14, help="simulated days per market (default 14)")
    parser.add_argument(
        "--trades-per-day", type=int, default=500_000, help="aggTrades a day (default 500,000)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="simulation seeds (default 1 2)")
    parser.add_argument(
        "--markets",
        nargs="+",
        choices=[m.name for m in MARKETS],
        default=[m.name for m in MARKETS],
        help="markets to run (default: all four)",
    )
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit of each build")
    parser.add_argument("--work", type=Path, default=Path("data/bench_accuracy"), help="scratch folder")
    parser.add_argument(
        "--rebuild", action="store_true", help="simulate, ingest and build again even if present"
    )
    parser.add_argument(
        "--rebuild-models",
        action="store_true",
        help="build the warehouses again from the kept lakes (after a model change; no new simulation)",
    )
    parser.add_argument(
        "--simulate-only",
        action="store_true",
        help="only simulate and ingest every market (to build later)",
    )
    args = parser.parse_args()
    if args.days < 3:
        parser.error("--days must be at least 3 (train and test each need whole days for the bootstrap)")
    chosen = [m for m in MARKETS if m.name in args.markets]
    print(
        f"bench_accuracy: {len(chosen)} markets x {len(args.seeds)} seeds, {args.days} days at "
        f"{args.trades_per_day:,} trades a day, BTCUSDT from {START}\n"
    )
    summary = []
    for market in chosen:
        for seed in args.seeds:
            folder = _market_folder(args.work, market, seed, args)
            if args.rebuild and folder.exists():
                shutil.rmtree(folder)
            _, simulated = _simulate(folder, market, seed, args)
            if args.simulate_only:
                print(f"{market.name}, seed {seed}: simulated and ingested in {simulated:.0f} s", flush=True)
                continue
            warehouse, seconds = _build(folder, args)
            report = load_scores(warehouse, side="all")
            test = [p for p in report.periods if p.period == "test"]
            built = f"built in {seconds:.0f} s" if seconds else "already built"
            if simulated > 1:
                built = f"simulated in {simulated:.0f} s, {built}"
            print(f"## {market.name}, seed {seed} ({market.why}; {built})\n")
            print(markdown(type(report)(report.warehouse, test, report.weights)))
            print(flush=True)
            summary.append(f"{market.name} seed {seed}: {_goals(report)}")
    if args.simulate_only:
        return 0
    print("## Goals (test period)\n")
    for line in summary:
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

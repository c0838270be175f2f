"""What any `dbt build` costs on this machine before it does real work: dbt's own floor.

Writes throw-away dbt-duckdb projects of trivial nodes (table models `select 1 as x, ...` and
not_null tests on their columns, in the proportions of our project: about one model to four
tests) and times `dbt build` of each in a fresh child process, from `import dbt` to the end, with
the flags `liquidationheatmap build` passes (--quiet, file log at warn, 2 threads). No data, no
project code: whatever the figure is, our SQL cannot go below it.

    uv run python scripts/bench_dbt_floor.py --nodes 0 2 161 240 --full-build-seconds 34.2 62.4

`--nodes 0` selects no node of a 2-node project (dbt starts, parses, connects, and stops). Each
size is built once to create its tables and partial-parse state, then timed `--repeat` times;
the best and the median are printed; `--dbt-arg` adds a flag to the timed builds (threads, cache
population, artifacts: none moves the floor by more than a few tenths). `--full-build-seconds`
prints 10 % of the given full-build times (docs/benchmarks.md) beside them, the goal of issue 4
for adding one day.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
began = time.perf_counter()
from dbt.cli.main import dbtRunner
result = dbtRunner().invoke(sys.argv[1:])
print(json.dumps({"ok": bool(result.success), "seconds": time.perf_counter() - began,
                  "nodes": len(result.result or [])}))
"""

TESTS_PER_MODEL = 4


def write_project(root: Path, nodes: int, threads: int) -> tuple[int, int]:
    """A project of `nodes` trivial nodes (models and not_null tests); returns (models, tests)."""
    models_dir = root / "models"
    models_dir.mkdir(parents=True)
    (root / "dbt_project.yml").write_text('name: floor\nversion: "1.0"\nprofile: floor\n')
    (root / "profiles.yml").write_text(
        "floor:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'floor.duckdb'}\n      threads: {threads}\n"
    )
    models = max(1, round(nodes / (1 + TESTS_PER_MODEL)))
    tests = max(0, nodes - models)
    # Test j checks column j // models of model j % models: the tests spread evenly over the models.
    columns = [f"c{i}" for i in range(max(1, -(-tests // models)))]
    schema = ["version: 2", "models:"]
    for index in range(models):
        source = "" if index == 0 else f" from {{{{ ref('m{index - 1}') }}}}"
        select = ", ".join(f"1 as {column}" for column in columns)
        (models_dir / f"m{index}.sql").write_text(
            f"{{{{ config(materialized='table') }}}}\nselect {select}{source}\n"
        )
        tested = [column for k, column in enumerate(columns) if k * models + index < tests]
        schema += [f"  - name: m{index}", "    columns:"]
        schema += [f"      - name: {column}\n        data_tests: [not_null]" for column in tested] or [
            "      []"
        ]
    (models_dir / "schema.yml").write_text("\n".join(schema) + "\n")
    return models, tests


def time_build(root: Path, flags: list[str]) -> dict:
    args = ["build", "--project-dir", str(root), "--profiles-dir", str(root), "--quiet"]
    args += [
        "--log-level-file",
        "warn",
        "--log-path",
        str(root / "logs"),
        "--target-path",
        str(root / "target"),
    ]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, *args, *flags],
        capture_output=True,
        text=True,
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"dbt build of {root} failed:\n{child.stdout[-2000:]}\n{child.stderr[-2000:]}")
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[0, 2, 161, 240], help="project sizes")
    parser.add_argument("--threads", type=int, default=2, help="dbt threads (default 2, as the build)")
    parser.add_argument("--repeat", type=int, default=3, help="timed builds per size (default 3)")
    parser.add_argument(
        "--dbt-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="one more flag for the timed builds, repeatable: --dbt-arg=--no-populate-cache",
    )
    parser.add_argument(
        "--full-build-seconds",
        type=float,
        nargs="*",
        default=[],
        help="full-build times to print 10 %% of (the goal for adding one day)",
    )
    args = parser.parse_args(argv)
    for seconds in args.full_build_seconds:
        print(f"10 % of a {seconds:.1f} s full build: {seconds / 10:.2f} s")
    print(f"{'nodes':>6} {'models':>6} {'tests':>6} {'best s':>7} {'median s':>8}")
    for nodes in args.nodes:
        with tempfile.TemporaryDirectory(prefix="dbt-floor-") as folder:
            root = Path(folder)
            models, tests = write_project(root, max(nodes, 2), args.threads)
            flags = ["--select", "tag:no_node_has_this_tag"] if nodes == 0 else []
            flags += args.dbt_arg
            first = time_build(root, [])  # creates the tables and dbt's partial-parse state
            runs = [time_build(root, flags) for _ in range(args.repeat)]
            built = runs[-1]["nodes"]
            if (nodes and built != models + tests) or (not nodes and built) or not first["ok"]:
                raise SystemExit(f"expected {0 if not nodes else models + tests} nodes, dbt built {built}")
            seconds = [run["seconds"] for run in runs]
            shown = (0, 0) if nodes == 0 else (models, tests)
            best, median = min(seconds), statistics.median(seconds)
            print(f"{nodes:>6} {shown[0]:>6} {shown[1]:>6} {best:>7.2f} {median:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

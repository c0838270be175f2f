"""scripts/bench_manifest_reads.py (docs/build.md cites it) runs and prints its three ways."""

from __future__ import annotations

import subprocess
import sys

from liquidationheatmap.settings import PROJECT_ROOT


def test_the_manifest_read_benchmark_prints_the_three_ways():
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "scripts" / "bench_manifest_reads.py"),
            "--runs",
            "3",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 manifest files of 6 records")
    assert [line.split("|")[1].strip() for line in lines[3:6]] == ["files", "cached", "snapshot"]
    assert "making the snapshot" in lines[-1]

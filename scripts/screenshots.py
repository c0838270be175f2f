"""Screenshots of today's pages for the README: docs/screenshots/<page>.png, redone with one command.

    uv run python scripts/screenshots.py                       # demo in /tmp/liquidationheatmap-screenshots
    uv run python scripts/screenshots.py --work-dir DIR --out docs/screenshots

Builds the demo (simulate -> ingest -> build -> docs: `run_demo`, the code behind
`liquidationheatmap demo`) in --work-dir, reused when it is already there, serves it on 127.0.0.1
on a free port, and photographs the four pages and the dbt lineage site (the heatmap
mart's page and its lineage graph) in headless
Chromium through Playwright, at 1366x860. Chromium is Debian's (apt-get install chromium), found
through LHM_CHROMIUM or the PATH. A page that shows an error, or is still loading after 60 s, stops
the script before any picture is replaced, so a broken page is never committed as a picture.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from api.core.config import api_config
from api.main import create_app
from api.server import BackgroundServer
from liquidationheatmap.demo import DemoError, DemoPaths, run_demo
from liquidationheatmap.settings import PROJECT_ROOT

# file name -> path on the server; every page but the lineage site has a #status that settles.
PAGES = {
    "map": "/map",
    "heatmap": "/heatmap",
    "history": "/history",
    "compare": "/compare",
}
# The lineage site on the heatmap mart: its page (the method, columns, tests), and its lineage graph
# narrowed to what the heatmap is built from (dbt tests left out).
LINEAGE = "/lineage/#!/model/model.liquidationheatmap.fct_liquidation_heatmap"
LINEAGE_SELECT = "+fct_liquidation_heatmap"
LINEAGE_EXCLUDE = "resource_type:test"
VIEWPORT = {"width": 1366, "height": 860}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SETTLED = "() => [...document.querySelectorAll('.status')].every(el => el.dataset.kind !== 'loading')"


def chromium_path() -> Path:
    found = os.environ.get("LHM_CHROMIUM") or shutil.which("chromium")
    if not found or not Path(found).is_file():
        sys.exit("screenshots: chromium not found (LHM_CHROMIUM or PATH): apt-get install chromium")
    return Path(found)


def build_demo(work: Path, console: Console) -> DemoPaths:
    paths = DemoPaths(
        raw=work / "raw",
        lake=work / "lake",
        warehouse=work / "processed" / "liquidations.duckdb",
        lineage_page=work / "processed" / "lineage.html",
    )
    try:
        run_demo(paths, console)
    except DemoError as error:
        sys.exit(f"screenshots: the demo did not build: {error}")
    return paths


def take(url: str, shots: Path, chromium: Path, console: Console) -> list[Path]:
    """Every picture into `shots`; returns them once every page was fine."""
    from playwright.sync_api import sync_playwright

    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        for name, path in PAGES.items():
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_function(SETTLED, timeout=60_000)
            kinds = page.eval_on_selector_all(".status", "els => els.map(e => e.dataset.kind)")
            if "error" in kinds:
                errors = page.eval_on_selector_all(
                    ".status[data-kind=error]", "els => els.map(e => e.innerText)"
                )
                sys.exit(f"screenshots: {path} shows an error: {'; '.join(errors)}")
            page.wait_for_timeout(500)  # Plotly's last redraw after the data arrived
            taken.append(shots / f"{name}.png")
            page.screenshot(path=str(taken[-1]), full_page=True)
            console.print(f"{path} -> {name}.png ({', '.join(kinds)})", highlight=False)
            page.close()
        page = context.new_page()
        page.goto(url + LINEAGE)
        page.wait_for_selector("text=Depends On", timeout=60_000)
        page.wait_for_timeout(1_000)
        taken.append(shots / "lineage-model.png")
        page.screenshot(path=str(taken[-1]))
        console.print(f"{LINEAGE} -> lineage-model.png", highlight=False)
        page.close()
        graph = browser.new_context(viewport=VIEWPORT, device_scale_factor=2)  # small labels, sharper
        page = graph.new_page()
        page.goto(url + LINEAGE + "?g_v=1")
        page.wait_for_selector("#cy canvas", timeout=60_000)
        page.fill("input[ng-model='selectorService.selection.dirty.include']", LINEAGE_SELECT)
        page.fill("input[ng-model='selectorService.selection.dirty.exclude']", LINEAGE_EXCLUDE)
        page.click("#submit-graph-selection")
        page.wait_for_timeout(3_000)  # dbt's graph lays itself out again
        taken.append(shots / "lineage.png")
        page.screenshot(path=str(taken[-1]))
        console.print(f"{LINEAGE}?g_v=1, --select {LINEAGE_SELECT} -> lineage.png", highlight=False)
        browser.close()
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "liquidationheatmap-screenshots",
        help="where the demo is built (reused when there; default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "screenshots", help="%(default)s")
    args = parser.parse_args()
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    console = Console()
    chromium = chromium_path()
    paths = build_demo(args.work_dir, console)
    args.out.mkdir(parents=True, exist_ok=True)
    app = create_app(api_config(warehouse=paths.warehouse, lineage_pages=(paths.lineage_page,)))
    shots = Path(tempfile.mkdtemp(prefix="screenshots-"))
    try:
        with BackgroundServer(app) as server:
            console.print(f"serving the demo at {server.url}", highlight=False)
            taken = take(server.url, shots, chromium, console)
        for shot in taken:  # each picture replaced whole: copied beside it, then renamed over it
            partial = args.out / f".{shot.name}.tmp"
            shutil.copyfile(shot, partial)
            os.replace(partial, args.out / shot.name)
    finally:
        shutil.rmtree(shots, ignore_errors=True)
    console.print(f"[green]{len(taken)} screenshots[/] in {args.out}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

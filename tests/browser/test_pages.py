"""Every page in real headless Chromium against the running API: it draws a plot with data, a
control changes the request and the plot, nothing is printed to the console, on a phone and a
desktop viewport. Screenshots go to test-artifacts/browser/ (the README's pictures come from
scripts/screenshots.py, on the demo's week)."""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import pytest

PAGES = ["map", "heatmap", "history", "compare"]
PLOTS = {"map": ["plot"], "heatmap": ["plot"], "history": ["plot"], "compare": ["plot-a", "plot-b"]}
VIEWPORTS = {"desktop": {"width": 1366, "height": 860}, "phone": {"width": 390, "height": 844}}


@contextmanager
def open_page(browser, viewport: str):
    context = browser.new_context(viewport=VIEWPORTS[viewport], device_scale_factor=1)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    try:
        yield page, messages
    finally:
        context.close()


def settle(page) -> str:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.status')].every(el => el.dataset.kind !== 'loading')",
        timeout=30_000,
    )
    return page.eval_on_selector("#status", "el => el.dataset.kind")


def plot_points(page, plot_id: str) -> dict:
    """What Plotly drew: trace types and the number and sum of the values of each trace."""
    return page.evaluate(
        """id => (document.getElementById(id).data || []).map(t => {
            const values = t.type === 'heatmap' ? t.z.flat() : (t.y || t.close || []);
            return {type: t.type, name: t.name, n: (t.x || []).length,
                    sum: values.reduce((a, b) => a + (b || 0), 0)};
        })""",
        plot_id,
    )


def choose(page, control: str, value: str, route: str) -> tuple[list, dict, list]:
    """Choose `value` in the page's `control`: #plot before, the query of the request to `route` the
    choice made, and #plot after it redrew."""
    settle(page)
    before = plot_points(page, "plot")
    with page.expect_request(lambda r: route in r.url) as request:
        page.select_option(control, value)
    settle(page)
    return before, parse_qs(urlparse(request.value.url).query), plot_points(page, "plot")


@pytest.mark.slow
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("name", PAGES)
def test_page_draws_its_plot_with_data_and_prints_nothing(browser, server, artifacts, name, viewport):
    with open_page(browser, viewport) as (page, messages):
        page.goto(f"{server.url}/{name}")
        assert settle(page) == "ready", page.inner_text("#status")
        for plot_id in PLOTS[name]:
            traces = plot_points(page, plot_id)
            assert traces, f"{plot_id} drew nothing"
            assert sum(trace["sum"] for trace in traces) > 0
            assert page.locator(f"#{plot_id} .main-svg").count() >= 1  # Plotly rendered its SVG
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shot = artifacts / f"{name}-{viewport}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert overflow <= 1, f"the {viewport} page scrolls sideways by {overflow}px"
        assert messages == []


def test_map_draws_leverage_bands_cumulative_curves_and_the_price_line(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/map")
        settle(page)
        traces = plot_points(page, "plot")
        layout = page.evaluate("document.getElementById('plot').layout")
    names = [t["name"] for t in traces]
    assert names[-2:] == ["cumulative longs", "cumulative shorts"]
    assert {t["type"] for t in traces[:-2]} == {"bar"} and len(traces) >= 4
    line = layout["shapes"][0]
    assert line["x0"] == line["x1"] and line["line"]["color"] == "#f0b90b"
    assert messages == []


def test_map_leverage_control_requests_that_band_and_redraws(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/map")
        before, query, after = choose(page, "#leverage", "50", "/liquidations/levels")
        assert query["min_leverage"] == ["50"]
        assert "min_leverage=50" in page.url
        assert sum(t["sum"] for t in after) < sum(t["sum"] for t in before)
        assert {t["name"] for t in after if t["type"] == "bar"} <= {"26–50x", "51–100x", "> 100x"}
        assert messages == []


def test_heatmap_timeframe_control_requests_it_and_redraws_at_its_resolution(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/heatmap")
        week, query, day = choose(page, "#timeframe", "24h", "/liquidations/heatmap")
        scale = page.evaluate("document.getElementById('plot').data[0].colorscale")
        assert query["timeframe"] == ["24h"]
        assert (week[0]["type"], week[0]["n"]) == ("heatmap", 96)  # 2 days at 30 minutes
        assert (day[0]["type"], day[0]["n"]) == ("heatmap", 288)  # 1 day at 5 minutes
        assert day[1]["type"] == "candlestick" and day[1]["n"] == 288
        assert scale[0][1] == "#1b0a2e" and scale[-1][1] == "#fde725"
        assert messages == []


def test_history_interval_control_regroups_the_bars(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/history")
        hourly, query, daily = choose(page, "#interval", "1d", "/liquidations/history")
        axes = page.evaluate("document.getElementById('plot').data.map(t => t.yaxis)")
        assert query["interval"] == ["1d"]
        assert axes == ["y", "y2"]
        assert [t["n"] for t in daily] == [2, 2]  # two days, longs and shorts
        assert [t["sum"] for t in daily] == pytest.approx([t["sum"] for t in hourly], rel=1e-9)
        assert messages == []


def test_compare_timeframe_control_reloads_both_heatmaps(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/compare")
        settle(page)
        requests = []
        page.on("request", lambda r: requests.append(r.url) if "/liquidations/heatmap" in r.url else None)
        page.select_option("#timeframe", "24h")
        page.wait_for_function(
            "() => document.getElementById('plot-a').data[0].x.length === 288", timeout=30_000
        )
        settle(page)
        models = sorted(parse_qs(urlparse(url).query)["model"][0] for url in requests)
        titles = [page.inner_text("#title-a"), page.inner_text("#title-b")]
        scores = page.inner_text("#scores-status")
        assert models == ["binance_standard", "funding_adjusted"]
        assert all(parse_qs(urlparse(url).query)["timeframe"] == ["24h"] for url in requests)
        assert titles == ["Binance standard", "Funding adjusted"]
        assert plot_points(page, "plot-b")[0]["n"] == 288
        assert scores.startswith("Side: longs and shorts pooled") and "all test windows pooled" in scores
        # Five models (four variants and the ensemble) and three reference maps, the pooled headline.
        assert page.locator("table.scores tbody tr").count() == 8
        assert page.locator("table.scores tbody tr.reference").count() == 3
        assert messages == []


def test_compare_shows_each_window_and_the_history_of_windows_as_lines(browser, server):
    """Walk-forward (the dataset: windows 1 and 2 and the pooled headline): the window control
    changes the table, the history plot draws one line per model with a point per window."""
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/compare")
        settle(page)
        options = page.eval_on_selector_all("#window option", "os => os.map(o => o.value)")
        pooled = page.inner_text("table.scores tbody")
        history = plot_points(page, "plot-history")
        page.select_option("#window", "2")
        settle(page)
        window_2 = page.inner_text("table.scores tbody")
        status = page.inner_text("#scores-status")
        page.select_option("#horizon", "4")
        settle(page)
        four_hours = page.evaluate("document.getElementById('plot-history').layout.yaxis.title.text")
        assert options == ["0", "1", "2"]
        assert window_2 != pooled and "window 2, test 2026-10-02 12:00" in status
        assert {t["name"] for t in history} == {
            "Binance standard",
            "Funding adjusted",
            "Large trades",
            "Learned leverage",
            "Ensemble",
        }
        assert all(t["type"] == "scatter" and t["n"] == 2 for t in history)
        assert four_hours == "skill, 4 h"
        assert "window=2" in page.url
        assert messages == []


@pytest.mark.parametrize("name", PAGES)
def test_before_any_build_each_page_says_to_run_build(browser, empty_server, name):
    with open_page(browser, "phone") as (page, messages):
        page.goto(f"{empty_server.url}/{name}")
        assert settle(page) == "error"
        assert "run `liquidationheatmap build`" in page.inner_text("#status")
        assert messages == []


def test_index_links_every_page_and_reports_freshness(browser, server):
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/")
        assert settle(page) == "ready"
        links = page.eval_on_selector_all(".card", "els => els.map(e => e.getAttribute('href'))")
        freshness = page.inner_text("#freshness")
    assert links == ["/map", "/heatmap", "/history", "/compare", "/docs", "/lineage/"]
    assert freshness == "BTCUSDT: data up to 2026-10-02 23:55:00 UTC"
    assert messages == []


def test_only_the_newest_of_overlapping_draws_counts(browser, server):
    """LH.latest: an answer that comes after a newer request started is dropped, and so is its error."""
    with open_page(browser, "desktop") as (page, messages):
        page.goto(f"{server.url}/map")
        settle(page)
        outcome = page.evaluate(
            """async () => {
                const newest = LH.latest();
                const errors = [];
                const later = (settle) =>
                    new Promise((resolve, reject) => setTimeout(() => settle(resolve, reject), 50));
                const old = newest(() => later((resolve) => resolve("old")), (e) => errors.push(e.message));
                const oldFailure = newest(() => later((_, reject) => reject(new Error("old failure"))),
                                          (e) => errors.push(e.message));
                const current = newest(async () => "current", (e) => errors.push(e.message));
                const results = [await old, await oldFailure, await current];
                const failure = await newest(async () => { throw new Error("newest failure"); },
                                             (e) => errors.push(e.message));
                return {results, failure, errors};
            }"""
        )
        assert outcome == {"results": [None, None, "current"], "failure": None, "errors": ["newest failure"]}
        assert messages == []

"""The distance smoothing of the scored maps (vars map_smoothing_*), in real builds.

The session's scored build smooths (the default rate 0.2, sigma 0.5 .. 10 bins); the same lake and
vars rebuilt with map_smoothing_rate 0 (the scoring models only, full refresh, from a copy of the
session's warehouse; about half a minute) scores the maps as they are. The models' scores change,
the reference maps' do not, rate 0 is the unsmoothed placement bin for bin, and the build's smoothed
map on the traversed bins is the whole map at t smoothed (the margin read is enough).
"""

from __future__ import annotations

import math
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from liquidationheatmap.dbt_runner import build_warehouse
from liquidationheatmap.publish import working_database
from python_models.scoring import REFERENCES, placement_by_window
from python_models.smoothing import smooth_by_distance

KEYS = ["window_id", "symbol", "window_start", "horizon_hours", "side", "model"]
VARIANTS = ("binance_standard", "funding_adjusted", "large_trades", "learned_leverage", "ensemble")


@pytest.fixture(scope="module")
def unsmoothed(scored_build, scored_vars, tmp_path_factory):
    root = tmp_path_factory.mktemp("unsmoothed")
    shutil.copytree(scored_build.warehouse.parent, root / "warehouse")
    warehouse = root / "warehouse" / scored_build.warehouse.name
    outcome = build_warehouse(
        scored_build.warehouse.parent.parent / "lake",
        warehouse,
        full_refresh=True,
        select=["int_scoring__window_map_cells+"],
        extra_vars={**scored_vars, "map_smoothing_rate": 0},
    )
    assert outcome.success, [(n.name, n.message) for n in outcome.failures] or outcome.error
    yield warehouse
    shutil.rmtree(root, ignore_errors=True)


def _placement(warehouse) -> pd.DataFrame:
    with duckdb.connect(str(working_database(warehouse)), read_only=True) as con:
        frame = con.sql(f"select {', '.join(KEYS)}, overlap, emd_pct from int_scoring__placement").df()
    return frame.dropna(subset=["model"]).sort_values(KEYS, ignore_index=True)


def test_smoothing_changes_every_models_scores_and_none_of_the_reference_maps(scored_build, unsmoothed):
    smoothed, plain = _placement(scored_build.warehouse), _placement(unsmoothed)
    joined = smoothed.merge(plain, on=KEYS, suffixes=("", "_plain"), how="outer", indicator=True)
    assert (joined["_merge"] == "both").all() and len(joined) > 0
    references = joined[joined["model"].isin(REFERENCES)]
    assert set(references["model"]) == set(REFERENCES)
    assert references["overlap"].to_numpy() == pytest.approx(
        references["overlap_plain"].to_numpy(), abs=1e-12
    )
    for name in VARIANTS:
        rows = joined[joined["model"] == name]
        assert len(rows), name
        changed = ~np.isclose(rows["overlap"], rows["overlap_plain"], rtol=0, atol=1e-9)
        assert changed.mean() > 0.5, (name, changed.mean())


def test_rate_zero_reads_no_margin_and_scores_the_cells_as_they_are(scored_build, unsmoothed):
    with duckdb.connect(str(working_database(unsmoothed)), read_only=True) as con:
        outside = con.sql(
            "select count(*) from int_scoring__window_map_cells join int_scoring__windows "
            "using (symbol, window_start, horizon_hours, side) "
            "where score_bin not between low_bin and high_bin"
        ).fetchone()[0]
        start, end = con.sql(
            "select period_start, period_end from int_scoring__periods "
            "where period = 'test' and window_id = 1"
        ).fetchone()
        inside = f"window_start >= '{start}' and window_end <= '{end}'"
        windows = con.sql(f"select * from int_scoring__windows where {inside}").df()
        join = "inner join int_scoring__windows using (symbol, window_start, horizon_hours, side)"
        cells = con.sql(
            "select c.symbol, c.window_start, c.horizon_hours, c.side, model, score_bin, "
            "live_notional as value "
            f"from int_scoring__window_map_cells as c {join} where {inside}"
        ).df()
        truth = con.sql(f"select t.* from int_scoring__window_truth_cells as t {join} where {inside}").df()
    with duckdb.connect(str(working_database(scored_build.warehouse)), read_only=True) as con:
        margin = con.sql(
            "select max(greatest(low_bin - score_bin, score_bin - high_bin)) "
            "from int_scoring__window_map_cells "
            "join int_scoring__windows using (symbol, window_start, horizon_hours, side)"
        ).fetchone()[0]
    assert outside == 0
    assert 0 < margin <= 30  # ceil(3 x map_smoothing_max_bins 10)
    # The placement of the maps as they are: the scoring before the smoothing, row for row.
    expected = placement_by_window(windows, cells, truth).sort_values(KEYS[1:], ignore_index=True)
    built = _placement(unsmoothed)
    built = built[(built["window_id"] == 1) & built["model"].isin(expected["model"].unique())]
    assert len(built) == len(expected) > 0
    assert built["overlap"].to_numpy() == pytest.approx(expected["overlap"].to_numpy(), abs=1e-12)


def test_the_scored_map_is_the_whole_map_at_t_smoothed_by_distance(scored_build):
    with duckdb.connect(str(working_database(scored_build.warehouse)), read_only=True) as con:
        windows = con.sql(
            "select w.* from int_scoring__windows as w join int_scoring__placement as p "
            "using (symbol, window_start, horizon_hours, side) where p.model = 'learned_leverage' "
            "order by w.window_start, w.horizon_hours, w.side"
        ).df()
        scored = con.sql(
            "select symbol, window_start, horizon_hours, side, overlap from int_scoring__placement "
            "where model = 'learned_leverage'"
        ).df()
        live = con.sql(
            "select l.bucket_start + to_minutes(5) as window_start, l.side, "
            "cast(floor(round(l.price_bin / s.price_bin_size)) as bigint) as score_bin, "
            "sum(live_notional) as v "
            "from int_scoring__live_notional_per_bucket as l join int_symbols__settings as s using (symbol) "
            "where model = 'learned_leverage' group by all"
        ).df()
        truth = con.sql("select * from int_scoring__window_truth_cells").df()
    maps = {k: g for k, g in live.groupby(["window_start", "side"])}
    truths = {k: g for k, g in truth.groupby(["window_start", "horizon_hours", "side"])}
    overlaps = {(r.window_start, r.horizon_hours, r.side): r.overlap for r in scored.itertuples()}
    checked = 0
    for w in windows.iloc[:: max(1, len(windows) // 40)].itertuples():
        low, high = int(w.low_bin), int(w.high_bin)
        cells = maps[(w.window_start, w.side)]
        price_bin = math.floor(w.start_price / w.score_bin_size)
        p = smooth_by_distance(cells["score_bin"], cells["v"], price_bin, 0.2, low, high, max_sigma=10.0)
        t = truths[(w.window_start, w.horizon_hours, w.side)]
        q = np.zeros(high - low + 1)
        np.add.at(q, t["score_bin"].to_numpy() - low, t["liquidated_notional"].to_numpy())
        overlap = float(np.minimum(p / p.sum(), q / q.sum()).sum())
        assert overlaps[(w.window_start, w.horizon_hours, w.side)] == pytest.approx(overlap, abs=1e-9)
        checked += 1
    assert checked >= 10

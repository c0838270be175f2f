"""Tempering a map with a flat map: the reach, the flat cells and the fit of the flat share."""

import pandas as pd
import pytest
from placement_world import BIN, PRICE, SYMBOL, cells, start, truth, windows

from python_models.ensemble import (
    FLAT_MODEL,
    combine,
    fit_temper,
    flat_cells,
    reach_bins,
    reach_mass,
    reach_pct,
)
from python_models.scoring import placement_by_window

KEYS = ["symbol", "window_start", "horizon_hours", "side", "score_bin"]


def _mass(per_window: dict[tuple[int, str], float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"symbol": SYMBOL, "window_start": start(h), "side": side, "value": v}
            for (h, side), v in per_window.items()
        ]
    )


def test_reach_is_the_quantile_of_the_excursions_in_percent_of_price_per_side():
    # price 1000 in bin 100; longs went down to bins 98, 96, 90 (edges 980, 960, 900: 2, 4, 10 %),
    # shorts up to bin 100 and 102 (upper edges 1010, 1030: 1, 3 %)
    frame = windows(
        [
            (0, "long", 98, 100),
            (1, "long", 96, 100),
            (2, "long", 90, 100),
            (0, "short", 100, 100),
            (1, "short", 100, 102),
        ]
    )
    assert reach_pct(frame, quantile=1.0) == pytest.approx({(SYMBOL, "long"): 10.0, (SYMBOL, "short"): 3.0})
    assert reach_pct(frame, quantile=0.5) == pytest.approx({(SYMBOL, "long"): 4.0, (SYMBOL, "short"): 2.0})
    # only the chosen (shortest) horizon counts
    longer = windows([(0, "long", 0, 100)], horizon=4)
    assert reach_pct(pd.concat([frame, longer]), quantile=1.0)[(SYMBOL, "long")] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="quantile"):
        reach_pct(frame, quantile=0)


def test_reach_bins_run_from_the_start_price_towards_the_side_by_the_reach():
    frame = windows([(0, "long", 99, 100), (0, "short", 100, 103)])
    bins = reach_bins(frame, {(SYMBOL, "long"): 2.0, (SYMBOL, "short"): 3.5})
    by_side = bins.set_index("side")
    # long: 1000 x 0.98 = 980 -> bin 98 .. bin 100; short: bin 100 .. 1035 -> bin 103
    assert (by_side.loc["long", "reach_low"], by_side.loc["long", "reach_high"]) == (98, 100)
    assert (by_side.loc["short", "reach_low"], by_side.loc["short", "reach_high"]) == (100, 103)
    # a side without a reach gets no rows
    assert reach_bins(frame, {(SYMBOL, "long"): 2.0})["side"].tolist() == ["long"]


def test_flat_spreads_the_mass_within_reach_evenly_and_keeps_only_traversed_bins():
    # reach 4 % -> bins 96..100 (5 bins); the map holds 50 USDT there -> 10 per bin; the window
    # traversed 98..100 only, so the flat cells are bins 98, 99, 100 at 10 each
    frame = windows([(0, "long", 98, 100)])
    bins = reach_bins(frame, {(SYMBOL, "long"): 4.0})
    flat = flat_cells(frame, bins, _mass({(0, "long"): 50.0}))
    assert flat["model"].unique().tolist() == [FLAT_MODEL]
    assert dict(zip(flat["score_bin"], flat["value"], strict=True)) == {98: 10.0, 99: 10.0, 100: 10.0}
    # a path beyond the reach: flat only on the traversed bins within it
    wide = windows([(0, "long", 90, 100)])
    assert sorted(
        flat_cells(wide, reach_bins(wide, {(SYMBOL, "long"): 4.0}), _mass({(0, "long"): 50.0}))["score_bin"]
    ) == [96, 97, 98, 99, 100]


def test_the_tempered_map_keeps_the_mass_within_reach():
    frame = windows([(0, "long", 96, 100)])
    bins = reach_bins(frame, {(SYMBOL, "long"): 4.0})
    model = cells("m", {(0, "long"): {100: 40.0, 97: 10.0}})
    flat = flat_cells(frame, bins, _mass({(0, "long"): 50.0}))
    tempered = combine({"m": model, "f": flat}, {"m": 0.6, "f": 0.4}, keys=KEYS, value="value")
    values = dict(zip(tempered["score_bin"], tempered["value"], strict=True))
    assert values == pytest.approx({96: 4.0, 97: 10.0, 98: 4.0, 99: 4.0, 100: 28.0})
    assert sum(values.values()) == pytest.approx(50.0)


def _world(truth_bins_by_hour):
    """Ten long windows, traversed 95..100, reach 5 % (96..100... bins 95..100), a map with all its
    mass in bin 100; truth per hour as given."""
    frame = windows([(h, "long", 95, 100) for h in range(10)])
    bins = reach_bins(frame, {(SYMBOL, "long"): 5.0})
    model = cells("m", {(h, "long"): {100: 60.0} for h in range(10)})
    flat = flat_cells(frame, bins, _mass({(h, "long"): 60.0 for h in range(10)}))
    return frame, model, flat, truth({(h, "long"): v for h, v in truth_bins_by_hour.items()})


def test_fit_keeps_the_map_where_it_is_right_and_goes_flat_where_truth_is_flat():
    right = {h: {100: 5.0} for h in range(10)}
    frame, model, flat, judged = _world(right)
    assert fit_temper(frame, model, flat, judged) == 0.0
    spread = {h: {b: 1.0 for b in range(95, 101)} for h in range(10)}
    frame, model, flat, judged = _world(spread)
    assert fit_temper(frame, model, flat, judged) == 1.0
    # half the truth where the map is, half spread: the best mix lies strictly between
    mixed = {h: {100: 3.0, 95: 0.6, 96: 0.6, 97: 0.6, 98: 0.6, 99: 0.6} for h in range(10)}
    frame, model, flat, judged = _world(mixed)
    a = fit_temper(frame, model, flat, judged)
    assert 0 < a < 1
    scores = placement_by_window(
        frame,
        pd.concat(
            [
                combine({"m": model, "f": flat}, {"m": 1 - a, "f": a}, keys=KEYS, value="value", model="t"),
                model,
            ]
        ),
        judged,
    )
    by_model = scores.groupby("model")["overlap"].mean()
    assert by_model["t"] > by_model["m"]


def test_fit_without_truth_keeps_the_map():
    frame, model, flat, judged = _world({})
    assert fit_temper(frame, model, flat, judged) == 0.0


def test_fit_sees_only_the_windows_it_is_given():
    # fitted on hours 0-4: the truth of hours 5-9, passed along but outside the windows given, is
    # never read (the dbt model passes the train span's windows only)
    train = {h: {100: 3.0, 95: 0.6, 96: 0.6, 97: 0.6, 98: 0.6, 99: 0.6} for h in range(5)}
    frame, model, flat, judged = _world(train)
    first = frame["window_start"] < start(5)
    a = fit_temper(frame[first], model, flat, judged)
    later = {h: {b: 2.0 for b in range(95, 101)} for h in range(5, 10)}
    _, _, _, judged_later = _world({**train, **later})
    assert fit_temper(frame[first], model, flat, judged_later) == a
    # while on all ten hours the flat later truth moves the share up
    assert fit_temper(frame, model, flat, judged_later) > a
    assert PRICE / BIN == 100  # the world's price sits in bin 100


def test_reach_mass_sums_the_map_at_t_on_the_reach_bins_in_duckdb():
    import duckdb

    con = duckdb.connect()
    # bins of 10 USDT; the map at t = 01:00 is the bucket 00:55-01:00; one row inside the reach
    # (995 -> bin 99), one outside (500), one of another bucket (ignored)
    con.execute(
        "create table live as select * from (values"
        " ('BTCUSDT', 'm', timestamp '2026-10-01 00:55', 'long', 995.0, 5.0),"
        " ('BTCUSDT', 'm', timestamp '2026-10-01 00:55', 'long', 500.0, 7.0),"
        " ('BTCUSDT', 'm', timestamp '2026-10-01 00:50', 'long', 995.0, 11.0))"
        " as t(symbol, model, bucket_start, side, price_bin, live_notional)"
    )
    con.execute("create table settings as select 'BTCUSDT' as symbol, 10.0 as price_bin_size")
    frame = windows([(1, "long", 98, 100)])
    bins = reach_bins(frame, {(SYMBOL, "long"): 3.0})
    out = reach_mass(con, con.table("live"), con.table("settings"), bins, bucket_minutes=5)
    assert out[["model", "value"]].to_dict("list") == {"model": ["m"], "value": [5.0]}
    assert out["window_start"].tolist() == [start(1)]

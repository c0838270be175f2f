"""Walk-forward windows (python_models.walk_forward): spans, parameters in force, what to recompute."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from python_models.walk_forward import (
    PRIOR_WINDOW,
    evaluation_windows,
    in_force_spans,
    in_force_window,
    plan_windows,
    windows_to_compute,
)

T = pd.Timestamp


def test_seven_days_of_three_plus_one_give_four_complete_windows_and_a_fifth_fitted_one():
    windows = evaluation_windows(T("2026-10-01 00:00"), T("2026-10-08 00:00"), train_days=3, test_days=1)
    assert windows["window_id"].tolist() == [1, 2, 3, 4, 5]
    assert windows["is_complete"].tolist() == [True, True, True, True, False]
    first = windows.iloc[0]
    assert (first["train_start"], first["train_end"], first["test_end"]) == (
        T("2026-10-01"),
        T("2026-10-04"),
        T("2026-10-05"),
    )
    # Test spans tile the range from the end of the first train span, one after the other.
    complete = windows[windows["is_complete"]]
    assert (complete["test_start"].iloc[1:].to_numpy() == complete["test_end"].iloc[:-1].to_numpy()).all()
    assert (windows["test_start"] == windows["train_end"]).all()


def test_adding_days_never_moves_an_existing_window():
    short = evaluation_windows(T("2026-10-01 00:05"), T("2026-10-06"), train_days=3, test_days=1)
    longer = evaluation_windows(T("2026-10-01 00:05"), T("2026-10-09"), train_days=3, test_days=1)
    columns = ["window_id", "train_start", "train_end", "test_end"]
    pd.testing.assert_frame_equal(short[columns], longer[columns].iloc[: len(short)])
    # Anchored at midnight of the first bucket, not at the bucket itself.
    assert short["train_start"].iloc[0] == T("2026-10-01")


def test_fractional_days_in_whole_hours_and_nothing_shorter_than_a_train_span():
    windows = evaluation_windows(T("2026-10-01"), T("2026-10-03"), train_days=1, test_days=0.5)
    assert windows["train_end"].tolist() == [T("2026-10-02"), T("2026-10-02 12:00"), T("2026-10-03")]
    assert windows["is_complete"].tolist() == [True, True, False]
    assert evaluation_windows(T("2026-10-01"), T("2026-10-02"), train_days=3, test_days=1).empty
    with pytest.raises(ValueError, match="whole hours"):
        evaluation_windows(T("2026-10-01"), T("2026-10-09"), train_days=3, test_days=0.01)


def test_parameters_in_force_are_the_latest_window_whose_train_span_ended_at_or_before_t():
    windows = evaluation_windows(T("2026-10-01"), T("2026-10-08"), train_days=3, test_days=1)
    times = [
        T("2026-10-03 23:55"),
        T("2026-10-04 00:00"),
        T("2026-10-04 23:59"),
        T("2026-10-05"),
        T("2026-10-09"),
    ]
    assert in_force_window(times, windows).tolist() == [PRIOR_WINDOW, 1, 1, 2, 5]
    spans = in_force_spans(
        [(0, "a", 1.0, None), (1, "a", 0.5, T("2026-10-04")), (2, "a", 0.25, T("2026-10-05"))]
    )
    assert spans == [
        ("a", 1.0, None, T("2026-10-04")),
        ("a", 0.5, T("2026-10-04"), T("2026-10-05")),
        ("a", 0.25, T("2026-10-05"), None),
    ]


def _stored(windows, settings="s"):
    return windows[["window_id", "train_start", "train_end"]].assign(settings=settings)


def test_a_build_recomputes_only_new_windows_and_those_reaching_into_changed_data():
    old = evaluation_windows(T("2026-10-01"), T("2026-10-06"), train_days=3, test_days=1)
    new = evaluation_windows(T("2026-10-01"), T("2026-10-07"), train_days=3, test_days=1)
    # Nothing changed but a new day: only the new window.
    assert windows_to_compute(new, _stored(old), settings="s", changed_from=None) == ([4], False)
    # The new day's file starts 2026-10-06, so data may change from the day before: windows whose
    # train span ends after 2026-10-05 (3 and 4).
    assert windows_to_compute(new, _stored(old), settings="s", changed_from=T("2026-10-05")) == (
        [3, 4],
        False,
    )
    # Unknown changes, other settings, or moved windows: everything, from scratch.
    assert windows_to_compute(new, _stored(old), settings="s", changed_from="all") == ([1, 2, 3, 4], True)
    assert windows_to_compute(new, _stored(old), settings="other", changed_from=None) == ([1, 2, 3, 4], True)
    moved = evaluation_windows(T("2026-10-01"), T("2026-10-07"), train_days=2, test_days=1)
    assert windows_to_compute(moved, _stored(old), settings="s", changed_from=None)[1] is True
    # First run / full refresh.
    assert windows_to_compute(new, None, settings="s", changed_from="all") == ([1, 2, 3, 4], False)


def test_per_window_settings_recompute_only_the_window_whose_settings_changed():
    windows = evaluation_windows(T("2026-10-01"), T("2026-10-06"), train_days=3, test_days=1)
    stored = _stored(windows).assign(settings=["a", "b", "c"])
    assert windows_to_compute(windows, stored, settings={1: "a", 2: "B", 3: "c"}, changed_from=None) == (
        [2],
        False,
    )


LOADED_AT = T("2026-10-06 12:00")


def _session(stored_rows, *, loaded_at=LOADED_AT, ingested=(), columns=True):
    """A real DuckDB with a stored per-window table ``this``, an ingest manifest and a per-bucket table."""
    con = duckdb.connect()
    if columns:
        con.execute(
            "create table this (window_id integer, fitted_from timestamp, fitted_to timestamp,"
            " _settings varchar, _loaded_at timestamp)"
        )
        for window_id, start, end in stored_rows:
            con.execute("insert into this values (?, ?, ?, 's', ?)", [window_id, start, end, loaded_at])
    else:  # an older version's table: no _settings column
        con.execute("create table this (window_id integer, fitted_from timestamp, fitted_to timestamp)")
        for row in stored_rows:
            con.execute("insert into this values (?, ?, ?)", list(row))
    con.execute(
        "create table manifest"
        " (dataset varchar, status varchar, ingested_at timestamp, first_event_at timestamp)"
    )
    con.execute("insert into manifest values ('aggTrades', 'loaded', '2026-10-06 00:00', '2026-10-01')")
    for dataset, at, first in ingested:
        con.execute("insert into manifest values (?, 'loaded', ?, ?)", [dataset, at, first])
    con.execute("create table per_bucket (bucket_start timestamp, _loaded_at timestamp)")
    con.execute("insert into per_bucket values ('2026-10-01', '2026-10-06 00:00')")
    return con


def _plan(con, windows, *, is_incremental=True, window_zero="prior", exclude=("positions",)):
    fits = windows.rename(columns={"train_start": "fitted_from", "train_end": "fitted_to"})
    return plan_windows(
        con,
        "this",
        fits,
        is_incremental=is_incremental,
        settings="s",
        span_start="fitted_from",
        span_end="fitted_to",
        manifest=con.table("manifest"),
        per_bucket=con.table("per_bucket"),
        exclude=exclude,
        window_zero=window_zero,
    )


def _rows(windows, prior=True):
    rows = [(int(w.window_id), w.train_start, w.train_end) for w in windows.itertuples()]
    return ([(PRIOR_WINDOW, None, None)] if prior else []) + rows


def test_plan_computes_only_what_is_new_and_keeps_the_stored_rows():
    old = evaluation_windows(T("2026-10-01"), T("2026-10-06"), train_days=3, test_days=1)
    new = evaluation_windows(T("2026-10-01"), T("2026-10-07"), train_days=3, test_days=1)
    con = _session(_rows(old))
    assert _plan(con, new) == ([4], False)
    assert con.sql("select count(*) from this").fetchone()[0] == 4  # nothing deleted
    # a file ingested after the last load whose first event is 2026-10-06: windows ending after 10-05
    con = _session(_rows(old), ingested=[("aggTrades", "2026-10-07 00:00", "2026-10-06 03:00")])
    assert _plan(con, new) == ([3, 4], False)
    # a true-positions file does not count for a fit that excludes them, but does for the scores
    con = _session(_rows(old), ingested=[("positions", "2026-10-07 00:00", "2026-10-01 03:00")])
    assert _plan(con, new) == ([4], False)
    assert _plan(con, new, exclude=()).todo == [1, 2, 3, 4]


def test_plan_starts_over_on_a_first_run_an_old_table_or_a_missing_prior():
    windows = evaluation_windows(T("2026-10-01"), T("2026-10-06"), train_days=3, test_days=1)
    # not incremental (first run, --full-refresh): everything, window 0 too, nothing to delete
    con = _session(_rows(windows))
    assert _plan(con, windows, is_incremental=False) == ([1, 2, 3], True)
    assert con.sql("select count(*) from this").fetchone()[0] == 4
    # a table this version cannot read: deleted, everything again
    con = _session([(1, T("2026-10-01"), T("2026-10-04"))], columns=False)
    assert _plan(con, windows) == ([1, 2, 3], True)
    assert con.sql("select count(*) from this").fetchone()[0] == 0
    # the prior window missing: deleted, everything again; a pooled window 0 is no such requirement
    con = _session(_rows(windows, prior=False))
    assert _plan(con, windows) == ([1, 2, 3], True)
    assert con.sql("select count(*) from this").fetchone()[0] == 0
    con = _session(_rows(windows, prior=False))
    assert _plan(con, windows, window_zero="pooled") == ([], False)
    with pytest.raises(ValueError, match="window_zero"):
        _plan(con, windows, window_zero="first")

"""Walk-forward windows (python_models.walk_forward): spans, parameters in force, what to recompute."""

from __future__ import annotations

import pandas as pd
import pytest

from python_models.walk_forward import (
    PRIOR_WINDOW,
    evaluation_windows,
    in_force_spans,
    in_force_window,
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

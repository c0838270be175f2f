"""Walk-forward evaluation: the evaluation windows, and which of them a build has to (re)compute.

Window k (k = 1, 2, ...) trains on [anchor + (k - 1) x step, anchor + (k - 1) x step + train) and
is tested on the following ``test`` span; step = test, so the test spans tile the range one after
the other. The anchor is midnight (UTC) of the first built bucket, so a window never moves when days
are added at the end. A window exists (can be fitted) once its train span is built and is
*complete* (can be scored) once its test span is built. Window 0 is the prior: what the models use
before the first train span ends.

Parameters fitted on window k are *in force* from the end of its train span until the next
window's train span ends: ``in_force_window`` picks, for a time t, the latest window whose train
span ended at or before t (0 before the first). No test span's truth reaches its own window's
parameters.

The dbt models that fit or score per window are incremental by window: ``windows_to_compute``
says which windows a build recomputes (new ones, those whose spans reach into data changed since
the model's last load, or all of them when the model's settings or the windows' spans changed);
``plan_windows`` is the whole bookkeeping (stored state, changes, wipe) that those models share.
Definitions: docs/model_scoring.md (the `model_scoring` docs block).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd

PRIOR_WINDOW = 0
POOLED_WINDOW = 0
WINDOW_COLUMNS = ["window_id", "train_start", "train_end", "test_start", "test_end", "is_complete"]
# Re-ingested data can change buckets from the day before its first event (a metrics file's first
# label and a day's last trades can belong to the neighbouring day), as the SQL models assume.
CHANGE_MARGIN = pd.Timedelta(days=1)


def span(days: float, name: str) -> pd.Timedelta:
    """A window span of ``days`` (fractions allowed), which must be a positive whole number of hours."""
    value = pd.Timedelta(days=float(days))
    if value <= pd.Timedelta(0) or value % pd.Timedelta(hours=1) != pd.Timedelta(0):
        raise ValueError(f"var {name} must be a positive number of days in whole hours; got {days}")
    return value


def evaluation_windows(
    first_bucket: pd.Timestamp | str | None,
    range_end: pd.Timestamp | str | None,
    *,
    train_days: float,
    test_days: float,
) -> pd.DataFrame:
    """Every window whose train span lies inside [anchor, range_end); anchor = midnight of first_bucket.

    Columns WINDOW_COLUMNS; is_complete = the test span lies inside the range too.
    """
    train = span(train_days, "score_window_train_days")
    test = span(test_days, "score_window_test_days")
    rows = []
    if first_bucket is not None and range_end is not None and not pd.isna(first_bucket):
        anchor = pd.Timestamp(first_bucket).floor("D")
        end = pd.Timestamp(range_end)
        k = 1
        while anchor + (k - 1) * test + train <= end:
            start = anchor + (k - 1) * test
            train_end = start + train
            rows.append((k, start, train_end, train_end, train_end + test, train_end + test <= end))
            k += 1
    out = pd.DataFrame(rows, columns=WINDOW_COLUMNS)
    for column in WINDOW_COLUMNS[1:5]:
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype({"window_id": "int32", "is_complete": "bool"})


def in_force_window(times: Iterable, windows: pd.DataFrame) -> np.ndarray:
    """For each time t: the latest window whose train span ended at or before t, else PRIOR_WINDOW."""
    stamps = pd.to_datetime(pd.Series(list(times))).to_numpy(dtype="datetime64[us]")
    if windows.empty:
        return np.full(len(stamps), PRIOR_WINDOW, dtype="int64")
    ordered = windows.sort_values("train_end")
    ends = ordered["train_end"].to_numpy(dtype="datetime64[us]")
    ids = ordered["window_id"].to_numpy(dtype="int64")
    position = np.searchsorted(ends, stamps, side="right")
    return np.where(position > 0, ids[np.maximum(position - 1, 0)], PRIOR_WINDOW)


def settings_key(settings: Mapping[str, object]) -> str:
    """The settings a model's rows were computed with, as a stable string (stored beside the rows)."""
    return json.dumps({str(k): settings[k] for k in sorted(settings)}, sort_keys=True, default=str)


def windows_to_compute(
    windows: pd.DataFrame,
    stored: pd.DataFrame | None,
    *,
    settings: str | Mapping[int, str],
    changed_from: pd.Timestamp | str | None,
    span_end: str = "train_end",
    span_start: str = "train_start",
) -> tuple[list[int], bool]:
    """(window ids to compute, whether every stored row must go first).

    ``windows``: the windows the model holds rows for (evaluation_windows, filtered by the caller,
    e.g. to the complete ones), with the span columns ``span_start`` / ``span_end`` the model reads.
    ``stored``: one row per stored window (window_id, span_start, span_end, settings), or None when
    the model is built from scratch (first run, --full-refresh). ``changed_from``: the earliest time
    whose input may have changed since the model's last load, None when nothing changed, 'all' when
    unknown. Everything is recomputed when the settings or a stored window's span differ (the
    windows moved); otherwise the windows not stored yet and those whose span ends after
    changed_from.
    """
    per_window = settings if isinstance(settings, Mapping) else None
    wanted = windows[["window_id", span_start, span_end]].copy()
    every = [int(w) for w in wanted["window_id"]]
    if stored is None or changed_from == "all":
        return every, stored is not None
    if stored.empty:
        return every, False
    merged = stored.merge(wanted, on="window_id", how="left", suffixes=("_stored", ""))
    moved = (
        merged[span_end].isna()
        | (pd.to_datetime(merged[f"{span_end}_stored"]) != pd.to_datetime(merged[span_end]))
        | (pd.to_datetime(merged[f"{span_start}_stored"]) != pd.to_datetime(merged[span_start]))
    )
    if moved.any() or (per_window is None and (stored["settings"].astype(str) != settings).any()):
        return every, True
    known = set(int(w) for w in stored["window_id"])
    todo = {w for w in every if w not in known}
    if per_window is not None:
        previous = dict(zip(stored["window_id"].astype(int), stored["settings"].astype(str), strict=True))
        todo |= {w for w in every if w in previous and previous[w] != per_window.get(w)}
    if changed_from is not None:
        since = pd.Timestamp(changed_from)
        touched = wanted[pd.to_datetime(wanted[span_end]) > since]
        todo |= {int(w) for w in touched["window_id"]}
    return sorted(todo), False


def timestamp_literal(value: pd.Timestamp) -> str:
    """A SQL timestamp literal of ``value`` (microseconds kept)."""
    return f"cast('{pd.Timestamp(value).strftime('%Y-%m-%d %H:%M:%S.%f')}' as timestamp)"


def bound_literal(value, infinity: str) -> str:
    """timestamp_literal(value), or the timestamp ``infinity`` ('-infinity' / 'infinity') for None."""
    return f"cast('{infinity}' as timestamp)" if value is None else timestamp_literal(value)


def stored_state(session, this, span_start: str, span_end: str) -> tuple[pd.DataFrame | None, object]:
    """(one row per stored window: window_id, span_start, span_end, settings; the last load time).

    For an incremental run of a model keyed by window_id with columns _settings and _loaded_at;
    (None, None) when the table cannot say (built by an older version: everything is recomputed).
    """
    try:
        stored = session.sql(
            f"select window_id, min({span_start}) as {span_start}, max({span_end}) as {span_end},"
            f" max(_settings) as settings from {this} group by window_id"
        ).df()
        last = session.sql(f"select max(_loaded_at) from {this}").fetchone()[0]
    except duckdb.Error:  # a table from an older build (no such column): recompute everything
        return None, None
    return stored, last


def changed_since(manifest, per_bucket, last_load, *, exclude: Iterable[str] = ()):
    """The earliest time whose data may have changed since ``last_load`` ('all' when unknown).

    ``manifest``: the ingest manifest relation (stg_ingest__manifest); ``per_bucket``:
    int_trades__per_bucket (trades loaded since, as the SQL models' live_notional_rebuild_from).
    Files of the ``exclude`` datasets do not count (the true positions, which no model reads). The
    day before the earliest event, as the SQL models use; None when nothing changed.
    """
    if last_load is None or pd.isna(last_load):
        return "all"
    if not manifest.aggregate("count(*)").fetchone()[0]:
        return "all"  # no ingest manifest in the lake: it cannot say what changed
    since = timestamp_literal(pd.Timestamp(last_load))
    condition = f"status = 'loaded' and ingested_at > {since}"
    names = ", ".join("'" + str(d).replace("'", "''") + "'" for d in exclude)
    if names:
        condition += f" and dataset not in ({names})"
    earliest = [
        manifest.filter(condition).aggregate("min(first_event_at)").fetchone()[0],
        per_bucket.filter(f"_loaded_at > {since}").aggregate("min(bucket_start)").fetchone()[0],
    ]
    earliest = [pd.Timestamp(e) for e in earliest if e is not None and not pd.isna(e)]
    if not earliest:
        return None
    return min(earliest).floor("D") - CHANGE_MARGIN


class WindowPlan(NamedTuple):
    """What an incremental per-window model computes in this run (plan_windows)."""

    todo: list[int]  # the window ids to compute, in order
    fresh: bool  # nothing stored is kept (first run, full refresh or wiped): window 0 must be written too


def complete_test_windows(periods) -> pd.DataFrame:
    """The scoring's complete test windows of int_scoring__periods (a DuckDB relation): window_id,
    period_start, period_end, in window order."""
    return (
        periods.filter("period = 'test' and is_complete")
        .project("window_id, period_start, period_end")
        .order("window_id")
        .df()
    )


def plan_windows(
    session,
    this,
    windows: pd.DataFrame,
    *,
    is_incremental: bool,
    settings: str | Mapping[int, str],
    span_start: str,
    span_end: str,
    manifest,
    per_bucket,
    exclude: Iterable[str] = (),
    window_zero: str | None = None,
) -> WindowPlan:
    """The bookkeeping of a dbt Python model incremental by window_id, in one place.

    Reads what the model stored (stored_state of ``this``, when ``is_incremental``), what changed
    since its last load (changed_since over ``manifest`` and ``per_bucket``, without the ``exclude``
    datasets) and decides with windows_to_compute which of ``windows`` to compute. Everything
    stored is deleted (and every window computed) when windows_to_compute asks for it, when the
    table cannot be read by this version (stored_state gives None), or, for ``window_zero =
    'prior'``, when the stored rows lack the prior window 0. ``window_zero``: None (the model has
    no window 0), 'prior' (window 0 is the prior, written with the fitted windows when ``fresh``)
    or 'pooled' (window 0 is recomputed on every run and is no part of the bookkeeping).
    """
    if window_zero not in (None, "prior", "pooled"):
        raise ValueError(f"window_zero must be None, 'prior' or 'pooled'; got {window_zero!r}")
    stored = None
    changed: object = "all"
    unreadable = False
    if is_incremental:
        stored, last_load = stored_state(session, this, span_start, span_end)
        # A table this version cannot read (an older build's): start over (dbt stops on the schema
        # change first and asks for --full-refresh).
        unreadable = stored is None
        changed = changed_since(manifest, per_bucket, last_load, exclude=exclude)
    compared = (
        stored if stored is None or window_zero is None else stored[stored["window_id"] != PRIOR_WINDOW]
    )
    todo, wipe = windows_to_compute(
        windows, compared, settings=settings, changed_from=changed, span_start=span_start, span_end=span_end
    )
    if window_zero == "prior" and stored is not None and not (stored["window_id"] == PRIOR_WINDOW).any():
        wipe = True  # no prior rows: a table from another version, start over
    if is_incremental and unreadable:
        wipe = True
    if wipe:
        session.execute(f"delete from {this}")
        todo = [int(w) for w in windows["window_id"]]
    return WindowPlan(todo=list(todo), fresh=stored is None or wipe)


def in_force_spans(rows: Iterable[tuple]) -> list[tuple[str, float, object, object]]:
    """(model, weight, in_force_from, in_force_to) from rows (window_id, model, weight, fitted_to).

    A window's weights are in force from its fitted_to (window 0: from always) until the next
    window's fitted_to (the last: for ever); None stands for -infinity / +infinity.
    """
    by_window: dict[int, list[tuple[str, float]]] = {}
    ends: dict[int, object] = {}
    for window_id, model, weight, fitted_to in rows:
        by_window.setdefault(int(window_id), []).append((str(model), float(weight)))
        ends[int(window_id)] = None if fitted_to is None or pd.isna(fitted_to) else pd.Timestamp(fitted_to)
    order = sorted(by_window)
    out = []
    for i, window_id in enumerate(order):
        start = None if window_id == PRIOR_WINDOW else ends[window_id]
        end = ends[order[i + 1]] if i + 1 < len(order) else None
        out.extend((model, weight, start, end) for model, weight in by_window[window_id])
    return out


def in_force_values_sql(rows: Iterable[tuple]) -> str:
    """A SQL relation (model, weight, in_force_from, in_force_to) of in_force_spans(rows)."""

    values = [
        "("
        + ", ".join(
            [
                "'" + model.replace("'", "''") + "'",
                f"{weight!r}::double",
                bound_literal(start, "-infinity"),
                bound_literal(end, "infinity"),
            ]
        )
        + ")"
        for model, weight, start, end in in_force_spans(rows)
    ]
    if not values:
        return (
            "select cast(null as varchar) as model, 0.0::double as weight, "
            "cast(null as timestamp) as in_force_from, cast(null as timestamp) as in_force_to where 1 = 0"
        )
    return "select * from (values " + ", ".join(values) + ") as w(model, weight, in_force_from, in_force_to)"

"""The walk-forward evaluation windows: per window a train span and the test span that follows.

Window k trains on [anchor + (k - 1) x step, + score_window_train_days) and is tested on the next
score_window_test_days (step = the test span), anchor = midnight (UTC) of the first bucket with
trades (python_models.walk_forward.evaluation_windows): adding days never moves a window. A window
is listed once its train span is built (its parameters can be fitted); is_complete once its test
span is built too (it can be scored). Two rows per window (period train, test), half-open: every
instant of a window is in exactly one of its periods. A range shorter than one train span gives no
windows (and no fits or scores).
"""

import json

import pandas as pd

from python_models.walk_forward import evaluation_windows

COLUMNS = ["window_id", "period", "period_start", "period_end", "is_complete", "train_days", "test_days"]


def model(dbt, session):
    dbt.config(materialized="table")
    train_days = float(json.loads(dbt.config.meta_get("score_window_train_days")))
    test_days = float(json.loads(dbt.config.meta_get("score_window_test_days")))
    bucket = pd.Timedelta(minutes=int(json.loads(dbt.config.meta_get("bucket_minutes"))))
    timeline = dbt.ref("int_buckets__timeline")
    first, last = timeline.aggregate("min(bucket_start), max(bucket_start)").fetchone()
    end = None if last is None else pd.Timestamp(last) + bucket
    windows = evaluation_windows(first, end, train_days=train_days, test_days=test_days)
    rows = []
    for w in windows.itertuples():
        rows.append((w.window_id, "train", w.train_start, w.train_end, w.is_complete, train_days, test_days))
        rows.append((w.window_id, "test", w.test_start, w.test_end, w.is_complete, train_days, test_days))
    out = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype(
        {
            "window_id": "int32",
            "period": "str",
            "is_complete": "bool",
            "train_days": "float64",
            "test_days": "float64",
        }
    )

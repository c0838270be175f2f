"""The scoring periods: train = the first `score_train_fraction` of the built range, test = the rest.

The range is [first bucket with trades, last bucket + 5 minutes) over all symbols; the split is
floored to a whole hour (python_models.scoring.split_train_test) so no hour of the hourly correlation
straddles the two. Keyed by evaluation window (window_id 1 = this split), so a walk-forward
evaluation (fit on one window's train, score on its test) is more rows of the same table. Half-open
intervals: every instant is in exactly one period. A range too short to split on whole hours gives
no periods (and no scores).
"""

import json

import pandas as pd

from python_models.scoring import split_train_test

COLUMNS = ["window_id", "period", "period_start", "period_end", "train_fraction"]
# The evaluation window of the default split; a walk-forward evaluation would add windows 2, 3, ...
DEFAULT_WINDOW = 1


def model(dbt, session):
    dbt.config(materialized="table")
    fraction = float(json.loads(dbt.config.meta_get("score_train_fraction")))
    if not 0 < fraction < 1:
        raise ValueError(f"var score_train_fraction must be strictly between 0 and 1; got {fraction}")
    bucket = pd.Timedelta(minutes=int(json.loads(dbt.config.meta_get("bucket_minutes"))))
    timeline = dbt.ref("int_buckets__timeline")
    first, last = timeline.aggregate("min(bucket_start), max(bucket_start)").fetchone()
    rows = []
    if first is not None:
        try:
            periods = split_train_test(
                pd.Timestamp(first), pd.Timestamp(last) + bucket, train_fraction=fraction
            )
        except ValueError:
            periods = {}
        rows = [(DEFAULT_WINDOW, name, start, end, fraction) for name, (start, end) in periods.items()]
    out = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("period_start", "period_end"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[us]")
    return out.astype({"window_id": "int32", "period": "str", "train_fraction": "float64"})

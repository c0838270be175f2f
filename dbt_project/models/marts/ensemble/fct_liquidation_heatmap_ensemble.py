"""The ensemble's heatmap: fct_liquidation_heatmap combined with the weights in force.

The combination of python_models.ensemble.combine per (symbol, timeframe, bucket_start, price_bin,
side), on live_notional and on live_quantity, over the union of the models' cells (a cell missing in
a model counts 0), computed in DuckDB: the heatmap (every timeframe, 1.5M rows at 30 days) never
becomes a pandas frame. Each cell uses the weights in force when it was drawn (walk-forward,
fct_ensemble_weights): those of the latest evaluation window whose train span ended at or before
the end of the cell's snapshot bucket (snapshot_at + bucket_minutes: the state the cell shows;
window 0's before the first), so no weight fitted on later truth reaches an
earlier cell. Same columns as fct_liquidation_heatmap, model = 'ensemble'; resolution_minutes and
snapshot_at are the timeframe's and bucket's (the same for every model); cells below
heatmap_min_live_notional_usdt are dropped as in the heatmap mart. The mart's unique test on
fct_liquidation_heatmap guarantees one row per model and cell.

Incremental (delete+insert by cell, done here): fct_liquidation_heatmap keeps, per symbol and
timeframe, the cells of a range of slots and price bins, rewrites or deletes the rest (every model
and side alike) and stamps what it wrote with _loaded_at. A run computes again the cells the
heatmap wrote since this table's last load, and those whose snapshot falls from the earliest
in-force time of the weights fitted since then on (all of them when the prior, window 0, was
fitted again); it deletes those and the cells outside the box of the heatmap's earlier rows. With
nothing new (the heatmap's rows and last write and the weights' last fit as when the latest cells
were written, `_inputs`) it reads nothing more and writes nothing.
"""

import datetime
import json

from python_models.ensemble import ENSEMBLE_MODEL
from python_models.walk_forward import in_force_values_sql, timestamp_literal

KEYS = "symbol, timeframe, bucket_start, price_bin, side"


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _outside_boxes(boxes) -> str:
    """Predicate: a cell lies in none of the (symbol, timeframe, first and last start, lowest and
    highest bin) boxes ('true' when there is none)."""
    if not boxes:
        return "true"
    inside = " or ".join(
        f"(symbol = {_literal(symbol)} and timeframe = {_literal(timeframe)}"
        f" and bucket_start between {timestamp_literal(first)} and {timestamp_literal(last)}"
        f" and price_bin between cast('{low!r}' as double) and cast('{high!r}' as double))"
        for symbol, timeframe, first, last, low, high in boxes
    )
    return f"not ({inside})"


def _snapshot_ends_from(start: str | None, bucket_minutes: int) -> str | None:
    """Predicate: a cell's snapshot bucket ends at or after `start`. The bound moves back by the
    bucket on the bare column, so DuckDB skips the row groups of older snapshots by their min/max."""
    if start is None:
        return None
    return f"snapshot_at >= cast('{start}' as timestamp) - to_minutes({bucket_minutes})"


def _changes(weight_rows, last_load) -> tuple[str, str | None]:
    """(what to compute again: 'all', 'changed' or 'nothing'; the weights' earliest change or None)."""
    if last_load is None:
        return "all", None
    since = timestamp_literal(last_load)
    count, prior, earliest = (
        weight_rows.filter(f"_loaded_at > {since}")
        .aggregate("count(*), bool_or(window_id = 0), min(fitted_to)")
        .fetchone()
    )
    if prior:
        return "all", None
    return "changed", None if not count or earliest is None else f"{earliest:%Y-%m-%d %H:%M:%S.%f}"


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append", on_schema_change="fail")
    min_notional = float(json.loads(dbt.config.meta_get("heatmap_min_live_notional_usdt")))
    bucket_minutes = int(json.loads(dbt.config.meta_get("bucket_minutes")))
    # Every dbt.ref on its own line: dbt finds a Python model's dependencies by reading these calls.
    weight_rows = dbt.ref("fct_ensemble_weights")
    heatmap = dbt.ref("fct_liquidation_heatmap")
    loaded_at = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    weights = in_force_values_sql(weight_rows.project("window_id, model, weight, fitted_to").fetchall())
    # What the stored cells were computed from: the heatmap's rows and last write, the weights' last fit.
    inputs = "/".join(
        str(value)
        for value in (
            *heatmap.aggregate("count(*), max(_loaded_at)").fetchone(),
            weight_rows.aggregate("max(_loaded_at)").fetchone()[0],
        )
    )
    last_load = None
    if dbt.is_incremental:
        try:
            last_load, last_inputs = session.sql(
                f"select max(_loaded_at), arg_max(_inputs, _loaded_at) from {dbt.this}"
            ).fetchone()
        except Exception:  # a table of an older version (no _loaded_at): dbt stops on the schema change
            last_load, last_inputs = None, None
        if last_load is not None and last_inputs == inputs:
            return session.sql(f"select * from {dbt.this} limit 0")  # nothing new: nothing to write
    scope, weights_from = _changes(weight_rows, last_load)
    snapshot_end = f"heatmap.snapshot_at + to_minutes({bucket_minutes})"
    weights_changed = _snapshot_ends_from(weights_from, bucket_minutes)
    if scope == "all":
        if dbt.is_incremental:
            session.execute(f"delete from {dbt.this}")
        todo = "select * from heatmap"
    else:
        since = timestamp_literal(last_load)
        # Two selects, not one `or`: each is pushed into the scan, where the new rows' _loaded_at
        # skips every older row group (with the `or`, every stored cell is read and tested).
        todo = f"select * from heatmap where _loaded_at > {since}"
        if weights_changed is not None:
            todo += f" union all select * from heatmap where _loaded_at <= {since} and {weights_changed}"
        # The cells to compute again, and those the heatmap no longer holds, go first. The heatmap
        # keeps, per (symbol, timeframe), the cells of a range of slots and price bins and rewrites
        # or deletes the rest; the box around its rows written before lies in that range, so a
        # cell here inside the box still has its models' rows, and one outside it has none of its
        # earlier rows left. The boxes (a few rows) are written into the delete as literals: one
        # scan of the table testing constants, where an anti-join hashed every stored cell.
        boxes = (
            heatmap.filter(f"_loaded_at <= {since}")
            .aggregate(
                "symbol, timeframe, min(bucket_start), max(bucket_start), min(price_bin), max(price_bin)",
                "symbol, timeframe",
            )
            .fetchall()
        )
        deleted = [_outside_boxes(boxes)]
        if weights_changed is not None:
            deleted.append(weights_changed)
        session.execute(f"delete from {dbt.this} where {' or '.join(deleted)}")
    # The weights in force are found per model and snapshot (a few thousand), then joined to the cells
    # by equality: a range join of every cell with every window's span tested cells x windows pairs,
    # which grew with the windows, one a day (1.1 s at 365 days against 0.2 s).
    query = f"""
        with weights as ({weights}),
        todo as ({todo}),
        snapshot_weights as (
            select heatmap.model, heatmap.snapshot_at, weights.weight
            from (select distinct model, snapshot_at from todo) as heatmap
            inner join weights
                on weights.model = heatmap.model
                and {snapshot_end} >= weights.in_force_from
                and {snapshot_end} < weights.in_force_to
        ),
        weighted as (
            select
                {", ".join("heatmap." + k.strip() for k in KEYS.split(","))},
                heatmap.resolution_minutes,
                heatmap.snapshot_at,
                heatmap.live_notional * weights.weight as live_notional,
                heatmap.live_quantity * weights.weight as live_quantity
            from todo as heatmap
            inner join snapshot_weights as weights
                on weights.model = heatmap.model
                and weights.snapshot_at = heatmap.snapshot_at
        ),
        cells as (
            select
                {KEYS},
                min(resolution_minutes) as resolution_minutes,
                min(snapshot_at) as snapshot_at,
                sum(live_notional) as live_notional,
                sum(live_quantity) as live_quantity
            from weighted
            group by {KEYS}
        )
        select
            symbol,
            {_literal(ENSEMBLE_MODEL)} as model,
            timeframe,
            bucket_start,
            resolution_minutes,
            snapshot_at,
            price_bin,
            side,
            live_quantity,
            live_notional,
            {timestamp_literal(loaded_at)} as _loaded_at,
            {_literal(inputs)} as _inputs
        from cells
        where live_notional >= {min_notional!r}
        order by {KEYS}
    """
    return heatmap.query("heatmap", query)

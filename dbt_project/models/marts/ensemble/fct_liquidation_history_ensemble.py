"""The ensemble's predicted liquidations: fct_liquidation_history combined with the weights in force.

python_models.ensemble.combine per (symbol, bucket_start, side) on liquidated_notional,
liquidated_quantity and liquidated_count (a key one model lacks counts 0), in DuckDB. A bucket's
liquidations use the weights in force when the bucket started (walk-forward, fct_ensemble_weights:
the latest evaluation window whose train span ended at or before bucket_start; window 0's before
the first). The count is a weighted sum of the models' level counts, so it is not a whole number.
Same columns as fct_liquidation_history, model = 'ensemble'.
"""

from python_models.ensemble import ENSEMBLE_MODEL
from python_models.walk_forward import in_force_values_sql

KEYS = "symbol, bucket_start, side"


def model(dbt, session):
    dbt.config(materialized="table")
    weight_rows = dbt.ref("fct_ensemble_weights")
    history = dbt.ref("fct_liquidation_history")
    weights = in_force_values_sql(weight_rows.project("window_id, model, weight, fitted_to").fetchall())
    query = f"""
        with weights as ({weights}),
        weighted as (
            select
                history.symbol,
                history.bucket_start,
                history.side,
                history.liquidated_notional * weights.weight as liquidated_notional,
                history.liquidated_quantity * weights.weight as liquidated_quantity,
                history.liquidated_count * weights.weight as liquidated_count
            from history
            inner join weights
                on weights.model = history.model
                and history.bucket_start >= weights.in_force_from
                and history.bucket_start < weights.in_force_to
        )
        select
            symbol,
            '{ENSEMBLE_MODEL}' as model,
            bucket_start,
            side,
            sum(liquidated_notional) as liquidated_notional,
            sum(liquidated_quantity) as liquidated_quantity,
            sum(liquidated_count)::double as liquidated_count
        from weighted
        group by {KEYS}
        order by {KEYS}
    """
    return history.query("history", query)

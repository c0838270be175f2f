-- The ensemble's live notional per symbol and side is the weighted sum of the models' (bins the
-- ensemble drops hold no notional, so the totals agree), with the latest window's weights.
with latest as (
    select * from {{ ref('fct_ensemble_weights') }}
    where window_id = (select max(window_id) from {{ ref('fct_ensemble_weights') }})
),

models as (
    select levels.symbol, levels.side, sum(levels.live_notional * weights.weight) as expected
    from {{ ref('fct_liquidation_levels') }} as levels
    inner join latest as weights
        on weights.model = levels.model
    group by levels.symbol, levels.side
),

ensemble as (
    select symbol, side, sum(live_notional) as actual
    from {{ ref('fct_liquidation_levels_ensemble') }}
    group by symbol, side
)

select models.symbol, models.side, models.expected, ensemble.actual
from models
full outer join ensemble
    on ensemble.symbol = models.symbol and ensemble.side = models.side
where abs(coalesce(models.expected, 0) - coalesce(ensemble.actual, 0))
    > 1e-6 * greatest(1, abs(coalesce(models.expected, 0)))

-- Live notional is never negative and, summed over a symbol's bins and sides, never exceeds open
-- interest valued at the same close: per model, per 5-minute snapshot of the heatmap and at the
-- latest bucket of the levels mart.
with heatmap_totals as (
    select
        heatmap.symbol,
        heatmap.model,
        heatmap.snapshot_at,
        'heatmap ' || heatmap.timeframe as checked_in,
        sum(heatmap.live_notional) as live_notional,
        min(heatmap.live_notional) as smallest_cell
    from {{ ref('fct_liquidation_heatmap') }} as heatmap
    group by heatmap.symbol, heatmap.model, heatmap.snapshot_at, heatmap.timeframe
),
levels_totals as (
    select
        symbol,
        model,
        measured_at as snapshot_at,
        'levels' as checked_in,
        sum(live_notional) as live_notional,
        min(live_notional) as smallest_cell
    from {{ ref('fct_liquidation_levels') }}
    group by symbol, model, measured_at
),
totals as (
    select * from heatmap_totals
    union all
    select * from levels_totals
)
select
    totals.*,
    timeline.open_interest * timeline.close as open_interest_notional
from totals
inner join {{ ref('int_buckets__timeline') }} as timeline
    on timeline.symbol = totals.symbol
    and timeline.bucket_start = totals.snapshot_at
where totals.smallest_cell < 0
    or totals.live_notional > timeline.open_interest * timeline.close * (1 + 1e-9) + 1e-6

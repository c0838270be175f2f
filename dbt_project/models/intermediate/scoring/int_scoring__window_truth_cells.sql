{#-
  The true liquidated notional of every scoring window on its traversed bins: liquidations of the
  window's side with liquidated_at in [t, t + horizon) (the buckets whose extremes make the path),
  binned by fill price into scoring bins. Liquidations off the traversed bins are not counted.
-#}
with

windows as (

    select * from {{ ref('int_scoring__windows') }}

),

liquidations as (

    select
        symbol,
        liquidated_at,
        position_side as side,
        fill_price,
        fill_notional
    from {{ ref('stg_truth__liquidations') }}

)

select
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cast(floor(liquidations.fill_price / windows.score_bin_size) as bigint) as score_bin,
    sum(liquidations.fill_notional) as liquidated_notional
from liquidations
inner join windows
    on windows.symbol = liquidations.symbol
    and windows.side = liquidations.side
    and liquidations.liquidated_at >= windows.window_start
    and liquidations.liquidated_at < windows.window_end
where floor(liquidations.fill_price / windows.score_bin_size) between windows.low_bin and windows.high_bin
group by
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    floor(liquidations.fill_price / windows.score_bin_size)

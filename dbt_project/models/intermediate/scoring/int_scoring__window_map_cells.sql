{#-
  Each model variant's map at the start of every scoring window, on the window's traversed bins:
  the live notional of int_scoring__live_notional_per_bucket at the end of the bucket before t
  (the state a trader could see at t), summed into scoring bins (model bin index integer-divided by
  score_bin_multiple). Every model in the per-bucket table is carried, whatever its name, so a new
  variant is scored with no change here. Reads no truth.
-#}
with

windows as (

    select * from {{ ref('int_scoring__windows') }}

),

cells as (

    select
        live.symbol,
        live.model,
        live.bucket_start + to_minutes({{ var('bucket_minutes') }}) as window_start,
        live.side,
        cast(floor(round(live.price_bin / settings.price_bin_size) / {{ var('score_bin_multiple') }}) as bigint)
            as score_bin,
        live.live_notional
    from {{ ref('int_scoring__live_notional_per_bucket') }} as live
    inner join {{ ref('int_symbols__settings') }} as settings
        on settings.symbol = live.symbol
    where date_trunc('hour', live.bucket_start + to_minutes({{ var('bucket_minutes') }}))
        = live.bucket_start + to_minutes({{ var('bucket_minutes') }})

)

select
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cells.model,
    cells.score_bin,
    sum(cells.live_notional) as live_notional
from cells
inner join windows
    on windows.symbol = cells.symbol
    and windows.window_start = cells.window_start
    and windows.side = cells.side
    and cells.score_bin between windows.low_bin and windows.high_bin
group by
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cells.model,
    cells.score_bin

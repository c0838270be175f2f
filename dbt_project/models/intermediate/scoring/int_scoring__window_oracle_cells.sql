{#-
  The oracle reference map: the simulator's TRUE open positions at each window start t, by true
  liquidation price, on the window's traversed bins (quantity x liquidation_price per scoring bin).
  The only model that reads truth/positions; it is a yardstick, never an input of a model. Empty on
  real recordings (no truth/positions).

  Computed without pairing every position with every window: each position adds its value to its
  liquidation bin from the first hour boundary at or after it opened, and takes it away from the
  first at or after it closed (an open position at t: opened_at <= t < closed_at); a running sum
  over those hourly changes per bin is the open value at every hour, read at each window start and
  bin with an as-of join.
-#}
with

windows as (

    select * from {{ ref('int_scoring__windows') }}

),

settings as (

    select symbol, price_bin_size * {{ var('score_bin_multiple') }} as score_bin_size
    from {{ ref('int_symbols__settings') }}

),

positions as (

    select
        positions.symbol,
        positions.side,
        positions.opened_at,
        positions.closed_at,
        cast(floor(positions.liquidation_price / settings.score_bin_size) as bigint) as score_bin,
        positions.quantity * positions.liquidation_price as value
    from {{ ref('stg_truth__positions') }} as positions
    inner join settings
        on settings.symbol = positions.symbol
    where positions.liquidation_price > 0
        and (positions.closed_at is null or positions.closed_at > positions.opened_at)

),

{#- The first hour boundary at or after a time (a time on the boundary is its own). #}
changes as (

    select
        symbol,
        side,
        score_bin,
        date_trunc('hour', opened_at - interval 1 microsecond) + interval 1 hour as at_hour,
        value
    from positions

    union all

    select
        symbol,
        side,
        score_bin,
        date_trunc('hour', closed_at - interval 1 microsecond) + interval 1 hour as at_hour,
        -value as value
    from positions
    where closed_at is not null

),

hourly as (

    select symbol, side, score_bin, at_hour, sum(value) as change
    from changes
    group by symbol, side, score_bin, at_hour

),

running as (

    select
        symbol,
        side,
        score_bin,
        at_hour,
        sum(change) over (partition by symbol, side, score_bin order by at_hour rows unbounded preceding)
            as open_value
    from hourly

),

window_bins as (

    select
        symbol,
        window_start,
        horizon_hours,
        side,
        {{ integer_series('low_bin', 'high_bin') }} as score_bin
    from windows

)

select
    window_bins.symbol,
    window_bins.window_start,
    window_bins.horizon_hours,
    window_bins.side,
    window_bins.score_bin,
    running.open_value as open_notional
from window_bins
asof inner join running
    on running.symbol = window_bins.symbol
    and running.side = window_bins.side
    and running.score_bin = window_bins.score_bin
    and running.at_hour <= window_bins.window_start
{#- What is left after every position of a bin closed is float noise, not an open position. #}
where running.open_value > 1e-6

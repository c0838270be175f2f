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

  Incremental like the other scoring windows: a run recomputes the windows that end after the
  rebuild start (true position files count here: scoring_window_on_or_after_rebuild_start with
  positions). A position closed before the first recomputed window opens and closes before it, so
  its two changes cancel there: only the positions still open at the cut are read further.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ scoring_window_on_or_after_rebuild_start('window_start', true) }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
with

windows as (

    select * from {{ ref('int_scoring__windows') }}
    {% if is_incremental() %}
    where {{ scoring_window_on_or_after_rebuild_start('window_start', true) }}
    {% endif %}

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
        {% if is_incremental() %}
        {%- set rebuild = live_notional_rebuild_from(true) %}
        {%- if rebuild not in ('all', none) %}
        and (positions.closed_at is null
            or positions.closed_at > cast('{{ rebuild }}' as timestamp) - to_hours({{ var('score_horizons_hours') | max }}))
        {%- endif %}
        {% endif %}

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
    running.open_value as open_notional,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from window_bins
asof inner join running
    on running.symbol = window_bins.symbol
    and running.side = window_bins.side
    and running.score_bin = window_bins.score_bin
    and running.at_hour <= window_bins.window_start
{#- What is left after every position of a bin closed is float noise, not an open position. #}
where running.open_value > 1e-6

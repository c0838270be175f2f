{#-
  The scoring windows of the path-conditioned yardstick (the `model_scoring` docs block): one row
  per symbol x start time t (every hour boundary with a bucket just before it) x horizon (var
  score_horizons_hours) x side, for every window [t, t + horizon) that ends inside the built range.

  start_price is the close of the bucket before t (the price when the map at t was drawn). The
  traversed bins, in scoring bins of score_bin_size = the symbol's price bin x var
  score_bin_multiple, are for longs the bins from the path's lowest low (int_scoring__bucket_extremes
  over the buckets of [t, t + horizon)) up to the start price, for shorts from the start price up to
  the highest high. Reads trades only: nothing here knows the truth.
  Incremental (as int_scoring__live_notional_per_bucket): a run deletes and recomputes only the
  windows that end after the rebuild start (the day before the earliest event of the lake files
  ingested since its last load, truth files included; scoring_window_on_or_after_rebuild_start), so
  a build's cost follows the new days. --full-refresh recomputes all.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ scoring_window_on_or_after_rebuild_start('window_start') }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
with

extremes as (

    select * from {{ ref('int_scoring__bucket_extremes') }}

),

settings as (

    select
        symbol,
        price_bin_size * {{ var('score_bin_multiple') }} as score_bin_size
    from {{ ref('int_symbols__settings') }}

),

timeline as (

    select symbol, bucket_start, close
    from {{ ref('int_buckets__timeline') }}

),

ranges as (

    select symbol, max(bucket_start) + to_minutes({{ var('bucket_minutes') }}) as range_end
    from timeline
    group by symbol

),

horizons as (

    {% for hours in var('score_horizons_hours') %}
    select {{ hours }} as horizon_hours
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

starts as (

    select
        symbol,
        bucket_start + to_minutes({{ var('bucket_minutes') }}) as window_start,
        close as start_price
    from timeline
    where date_trunc('hour', bucket_start + to_minutes({{ var('bucket_minutes') }}))
        = bucket_start + to_minutes({{ var('bucket_minutes') }})
        {% if is_incremental() %}
        and {{ scoring_window_on_or_after_rebuild_start('bucket_start', column_lead_minutes=var('bucket_minutes')) }}
        {% endif %}

),

windows as (

    select
        starts.symbol,
        starts.window_start,
        horizons.horizon_hours,
        starts.window_start + to_hours(horizons.horizon_hours) as window_end,
        starts.start_price
    from starts
    cross join horizons
    inner join ranges
        on ranges.symbol = starts.symbol
    where starts.window_start + to_hours(horizons.horizon_hours) <= ranges.range_end

),

paths as (

    select
        windows.symbol,
        windows.window_start,
        windows.horizon_hours,
        min(extremes.path_low) as path_low,
        max(extremes.path_high) as path_high
    from windows
    inner join extremes
        on extremes.symbol = windows.symbol
        and extremes.bucket_start >= windows.window_start
        and extremes.bucket_start < windows.window_end
    group by windows.symbol, windows.window_start, windows.horizon_hours

),

framed as (

    select
        windows.*,
        paths.path_low,
        paths.path_high,
        settings.score_bin_size
    from windows
    inner join paths
        on paths.symbol = windows.symbol
        and paths.window_start = windows.window_start
        and paths.horizon_hours = windows.horizon_hours
    inner join settings
        on settings.symbol = windows.symbol

)

select
    symbol,
    window_start,
    horizon_hours,
    window_end,
    'long' as side,
    start_price,
    path_low,
    path_high,
    score_bin_size,
    cast(floor(least(path_low, start_price) / score_bin_size) as bigint) as low_bin,
    cast(floor(start_price / score_bin_size) as bigint) as high_bin,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from framed

union all

select
    symbol,
    window_start,
    horizon_hours,
    window_end,
    'short' as side,
    start_price,
    path_low,
    path_high,
    score_bin_size,
    cast(floor(start_price / score_bin_size) as bigint) as low_bin,
    cast(floor(greatest(path_high, start_price) / score_bin_size) as bigint) as high_bin,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from framed

{#-
  Each model variant's map at the start of every scoring window, on the window's traversed bins:
  the live notional of int_scoring__live_notional_per_bucket at the end of the bucket before t
  (the state a trader could see at t), summed into scoring bins (model bin index integer-divided by
  score_bin_multiple). Every model in the per-bucket table is carried, whatever its name, so a new
  variant is scored with no change here. Reads no truth. The cells reach map_smoothing_margin_bins()
  bins beyond the traversed ones (ceil(3 x map_smoothing_max_bins); none when map_smoothing_rate is
  0): the distance smoothing of the scored maps spreads them onto the traversed bins.
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

windows as (

    select * from {{ ref('int_scoring__windows') }}
    {% if is_incremental() %}
    where {{ scoring_window_on_or_after_rebuild_start('window_start') }}
    {% endif %}

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
        {% if is_incremental() %}
        and {{ scoring_window_on_or_after_rebuild_start('live.bucket_start', column_lead_minutes=var('bucket_minutes')) }}
        {% endif %}

)

select
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cells.model,
    cells.score_bin,
    sum(cells.live_notional) as live_notional,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from cells
inner join windows
    on windows.symbol = cells.symbol
    and windows.window_start = cells.window_start
    and windows.side = cells.side
    and cells.score_bin between windows.low_bin - {{ map_smoothing_margin_bins() }}
        and windows.high_bin + {{ map_smoothing_margin_bins() }}
group by
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cells.model,
    cells.score_bin

{#-
  The true liquidated notional of every scoring window on its traversed bins: liquidations of the
  window's side with liquidated_at in [t, t + horizon) (the buckets whose extremes make the path),
  binned by fill price into scoring bins. Liquidations off the traversed bins are not counted.
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

liquidations as (

    select
        symbol,
        liquidated_at,
        position_side as side,
        fill_price,
        fill_notional
    from {{ ref('stg_truth__liquidations') }}
    {% if is_incremental() %}
    where {{ scoring_window_on_or_after_rebuild_start('liquidated_at') }}
    {% endif %}

)

select
    windows.symbol,
    windows.window_start,
    windows.horizon_hours,
    windows.side,
    cast(floor(liquidations.fill_price / windows.score_bin_size) as bigint) as score_bin,
    sum(liquidations.fill_notional) as liquidated_notional,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
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

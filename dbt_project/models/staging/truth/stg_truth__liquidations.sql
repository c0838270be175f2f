{#-
  True liquidations, typed and renamed. The rows are Binance forceOrder events (the simulator's
  truth/liquidations loaded into the lake by ingest; a live `!forceOrder@arr` recorder later), so
  `side` is the closing order's side: SELL liquidates a long, BUY a short. `position_side` says which.
  Exact duplicates (the same event recorded twice) are kept once.
  Stored, unlike the other staging models: seven tests and three scoring models read it, and each
  would scan the lake files again. Incremental by lake day (a table on Spark): a build deletes and
  loads again the (symbol, date=) partitions of the truth files the ingest manifest lists as
  loaded since its last load (lake_days_ingested_since_last_build, macros/incremental_rebuild.sql),
  reading only those files, so a daily build does not reload a year of recorded liquidations. An
  event lies in the partition of its UTC day, so a duplicate is always within one day. Deleting
  lake files is not seen: rebuild with --full-refresh then.
-#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{% set days = lake_days_ingested_since_last_build(['liquidations']) %}delete from {{ this }} where {{ on_dataset_days('liquidations', 'symbol', 'file_date', days) }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
{%- set days = lake_days_ingested_since_last_build(['liquidations']) if is_incremental() else 'all' %}
{%- set liquidations_source = lake_scan('liquidations') %}
with

{% if 'liquidations' in var('truth_datasets') %}
source as (

    select * from {{ liquidations_source }}
    where {{ on_dataset_days('liquidations', 'symbol', 'date', days) }}

),
{% else %}
{#- No truth liquidation file: an empty, typed relation keeps the scoring models building. #}
source as (

    select
        cast(null as {{ text_type() }}) as symbol, cast(null as bigint) as time, cast(null as {{ text_type() }}) as side,
        cast(null as {{ text_type() }}) as order_type, cast(null as {{ text_type() }}) as time_in_force,
        cast(null as double) as original_quantity, cast(null as double) as price,
        cast(null as double) as average_price, cast(null as {{ text_type() }}) as order_status,
        cast(null as double) as last_fill_quantity, cast(null as double) as accumulated_fill_quantity,
        cast(null as date) as date
    where 1 = 0

),
{% endif %}

typed as (

    select distinct
        cast(symbol as {{ text_type() }}) as symbol,
        cast(time as bigint) as event_time_ms,
        cast(side as {{ text_type() }}) as order_side,
        cast(order_type as {{ text_type() }}) as order_type,
        cast(time_in_force as {{ text_type() }}) as time_in_force,
        cast(original_quantity as double) as original_quantity,
        cast(price as double) as order_price,
        cast(average_price as double) as average_price,
        cast(order_status as {{ text_type() }}) as order_status,
        cast(last_fill_quantity as double) as last_fill_quantity,
        cast(accumulated_fill_quantity as double) as accumulated_fill_quantity,
        cast(date as date) as file_date
    from source

),

renamed as (

    select
        symbol,
        {{ epoch_ms_to_timestamp('event_time_ms') }} as liquidated_at,
        event_time_ms,
        order_side,
        case order_side when 'SELL' then 'long' when 'BUY' then 'short' end as position_side,
        order_type,
        time_in_force,
        original_quantity,
        order_price,
        average_price,
        order_status,
        last_fill_quantity,
        accumulated_fill_quantity,
        file_date,
        {#- The executed fill: average price and filled quantity, else the order's. #}
        case when average_price > 0 then average_price else order_price end as fill_price,
        case when accumulated_fill_quantity > 0 then accumulated_fill_quantity else original_quantity end
            as fill_quantity
    from typed

)

select
    *,
    fill_price * fill_quantity as fill_notional,
    {{ node_loaded_at() }} as _loaded_at
from renamed

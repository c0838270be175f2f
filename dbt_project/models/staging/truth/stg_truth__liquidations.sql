{#-
  True liquidations, typed and renamed. The rows are Binance forceOrder events (the simulator's
  truth/liquidations loaded into the lake by ingest; a live `!forceOrder@arr` recorder later), so
  `side` is the closing order's side: SELL liquidates a long, BUY a short. `position_side` says which.
  Exact duplicates (the same event recorded twice) are kept once.
  A table, unlike the other staging models: seven tests and three scoring models read it, and each
  would scan the lake files again.
-#}
{{ config(materialized='table') }}
{%- set liquidations_source = lake_scan('liquidations') -%}
with

{% if 'liquidations' in var('truth_datasets') %}
source as (

    select * from {{ liquidations_source }}

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
        cast(accumulated_fill_quantity as double) as accumulated_fill_quantity
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
        {#- The executed fill: average price and filled quantity, else the order's. #}
        case when average_price > 0 then average_price else order_price end as fill_price,
        case when accumulated_fill_quantity > 0 then accumulated_fill_quantity else original_quantity end
            as fill_quantity
    from typed

)

select
    *,
    fill_price * fill_quantity as fill_notional
from renamed

{%- set depth_source = source('binance', 'book_depth') -%}
with

{% if lake_has('bookDepth') %}
source as (

    select * from {{ depth_source }}

),
{% else %}
{#- No bookDepth file in the lake: an empty, typed relation keeps the models building. #}
source as (

    select
        cast(null as varchar) as symbol,
        cast(null as date) as date,
        cast(null as timestamp) as "timestamp",
        cast(null as double) as percentage,
        cast(null as double) as depth,
        cast(null as double) as notional
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(symbol as varchar) as symbol,
        cast(date as date) as snapshot_date,
        cast("timestamp" as timestamp) as snapshot_at,
        cast(percentage as double) as depth_percentage,
        case when percentage < 0 then 'bid' else 'ask' end as book_side,
        cast(depth as double) as depth_quantity,
        cast(notional as double) as depth_notional_usdt

    from source

)

select * from renamed

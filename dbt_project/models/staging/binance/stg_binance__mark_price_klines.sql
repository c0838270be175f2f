{%- set mark_source = source('binance', 'mark_price_klines') -%}
with

{% if lake_has('markPriceKlines') %}
source as (

    select * from {{ mark_source }}

),
{% else %}
{#- No markPriceKlines file in the lake: an empty, typed relation (the lifecycle then uses trade prices). #}
source as (

    select
        cast(null as varchar) as symbol,
        cast(null as date) as date,
        cast(null as varchar) as interval,
        cast(null as bigint) as open_time,
        cast(null as double) as open,
        cast(null as double) as high,
        cast(null as double) as low,
        cast(null as double) as close,
        cast(null as bigint) as close_time
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(symbol as varchar) as symbol,
        cast(date as date) as file_date,
        cast(interval as varchar) as candle_interval,
        {{ epoch_ms_to_timestamp('open_time') }} as opened_at,
        {{ epoch_ms_to_timestamp('close_time') }} as closed_at,
        cast(open as double) as mark_open,
        cast(high as double) as mark_high,
        cast(low as double) as mark_low,
        cast(close as double) as mark_close

    from source

)

select * from renamed

{%- set mark_source = lake_scan('markPriceKlines') -%}
{#- Built after the ingest manifest's view: the scoped tests of this view read it (macros/test_scope.sql),
    and would find it missing while dbt replaces it in another thread. -#}
-- depends_on: {{ ref('stg_ingest__manifest') }}
with

{% if lake_has('markPriceKlines') %}
source as (

    select * from {{ mark_source }}

),
{% else %}
{#- No markPriceKlines file in the lake: an empty, typed relation (the lifecycle then uses trade prices). #}
source as (

    select
        cast(null as {{ text_type() }}) as symbol,
        cast(null as date) as date,
        cast(null as {{ text_type() }}) as {{ adapter.quote("interval") }},
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
        cast(symbol as {{ text_type() }}) as symbol,
        cast(date as date) as file_date,
        cast({{ adapter.quote("interval") }} as {{ text_type() }}) as candle_interval,
        {{ epoch_ms_to_timestamp('open_time') }} as opened_at,
        {{ epoch_ms_to_timestamp('close_time') }} as closed_at,
        cast(open as double) as mark_open,
        cast(high as double) as mark_high,
        cast(low as double) as mark_low,
        cast(close as double) as mark_close

    from source

)

select * from renamed

{%- set funding_source = lake_scan('fundingRate') -%}
with

{% if lake_has('fundingRate') %}
source as (

    select * from {{ funding_source }}

),
{% else %}
{#- No fundingRate file in the lake: an empty, typed relation keeps the models building. #}
source as (

    select
        cast(null as {{ text_type() }}) as symbol,
        cast(null as date) as date,
        cast(null as bigint) as calc_time,
        cast(null as integer) as funding_interval_hours,
        cast(null as double) as last_funding_rate
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(symbol as {{ text_type() }}) as symbol,
        cast(date as date) as funding_date,
        {{ epoch_ms_to_timestamp('calc_time') }} as funded_at,
        cast(funding_interval_hours as integer) as funding_interval_hours,
        cast(last_funding_rate as double) as funding_rate

    from source

)

select * from renamed

{%- set depth_source = lake_scan('bookDepth') -%}
{#- Built after the ingest manifest's view: the scoped tests of this view read it (macros/test_scope.sql),
    and would find it missing while dbt replaces it in another thread. -#}
-- depends_on: {{ ref('stg_ingest__manifest') }}
with

{% if lake_has('bookDepth') %}
source as (

    select * from {{ depth_source }}

),
{% else %}
{#- No bookDepth file in the lake: an empty, typed relation keeps the models building. #}
source as (

    select
        cast(null as {{ text_type() }}) as symbol,
        cast(null as date) as date,
        cast(null as timestamp) as {{ adapter.quote("timestamp") }},
        cast(null as double) as percentage,
        cast(null as double) as depth,
        cast(null as double) as notional
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(symbol as {{ text_type() }}) as symbol,
        cast(date as date) as snapshot_date,
        cast({{ adapter.quote("timestamp") }} as timestamp) as snapshot_at,
        cast(percentage as double) as depth_percentage,
        case when percentage < 0 then 'bid' else 'ask' end as book_side,
        cast(depth as double) as depth_quantity,
        cast(notional as double) as depth_notional_usdt

    from source

)

select * from renamed

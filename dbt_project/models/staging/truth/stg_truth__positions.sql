{#- Every simulated position (truth/positions, loaded into the lake by ingest), typed; times as UTC
    timestamps; file_date is the truth file's date (its lake partition). -#}
{%- set positions_source = lake_scan('positions') -%}
{#- Built after the ingest manifest's view: the scoped tests of this view read it (macros/test_scope.sql),
    and would find it missing while dbt replaces it in another thread. -#}
-- depends_on: {{ ref('stg_ingest__manifest') }}
with

{% if 'positions' in var('truth_datasets') %}
source as (

    select * from {{ positions_source }}

),
{% else %}
{#- No truth position file: an empty, typed relation. #}
source as (

    select
        cast(null as bigint) as position_id, cast(null as {{ text_type() }}) as symbol,
        cast(null as bigint) as opened_at, cast(null as {{ text_type() }}) as side,
        cast(null as double) as entry_price, cast(null as double) as quantity,
        cast(null as integer) as leverage, cast(null as double) as margin,
        cast(null as double) as liquidation_price, cast(null as bigint) as closed_at,
        cast(null as {{ text_type() }}) as close_reason, cast(null as {{ text_type() }}) as trader,
        cast(null as date) as date
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(position_id as bigint) as position_id,
        cast(symbol as {{ text_type() }}) as symbol,
        {{ epoch_ms_to_timestamp('opened_at') }} as opened_at,
        cast(side as {{ text_type() }}) as side,
        cast(entry_price as double) as entry_price,
        cast(quantity as double) as quantity,
        cast(leverage as integer) as leverage,
        cast(margin as double) as margin,
        cast(liquidation_price as double) as liquidation_price,
        {{ epoch_ms_to_timestamp('closed_at') }} as closed_at,
        cast(close_reason as {{ text_type() }}) as close_reason,
        cast(trader as {{ text_type() }}) as trader,
        cast(entry_price as double) * cast(quantity as double) as entry_notional,
        cast(date as date) as file_date
    from source

)

select * from renamed

{#- Every simulated position (truth/positions), typed; times as UTC timestamps. -#}
{%- set positions_source = source('truth', 'positions') -%}
with

{% if 'positions' in var('truth_datasets') %}
source as (

    select * from {{ positions_source }}

),
{% else %}
{#- No truth position file: an empty, typed relation. #}
source as (

    select
        cast(null as bigint) as position_id, cast(null as varchar) as symbol,
        cast(null as bigint) as opened_at, cast(null as varchar) as side,
        cast(null as double) as entry_price, cast(null as double) as quantity,
        cast(null as integer) as leverage, cast(null as double) as margin,
        cast(null as double) as liquidation_price, cast(null as bigint) as closed_at,
        cast(null as varchar) as close_reason, cast(null as varchar) as trader,
        cast(null as varchar) as filename
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(position_id as bigint) as position_id,
        cast(symbol as varchar) as symbol,
        {{ epoch_ms_to_timestamp('opened_at') }} as opened_at,
        cast(side as varchar) as side,
        cast(entry_price as double) as entry_price,
        cast(quantity as double) as quantity,
        cast(leverage as integer) as leverage,
        cast(margin as double) as margin,
        cast(liquidation_price as double) as liquidation_price,
        {{ epoch_ms_to_timestamp('closed_at') }} as closed_at,
        cast(close_reason as varchar) as close_reason,
        cast(trader as varchar) as trader,
        cast(entry_price as double) * cast(quantity as double) as entry_notional,
        cast(filename as varchar) as source_file
    from source

)

select * from renamed

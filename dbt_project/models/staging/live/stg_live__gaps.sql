{%- set gaps_source = lake_scan('liveGaps') -%}
with

{% if lake_has('liveGaps') %}
source as (

    select * from {{ gaps_source }}

),
{% else %}
{#- No recorder gap in the lake: an empty, typed relation keeps the coverage mart building. #}
source as (

    select
        cast(null as {{ text_type() }}) as symbol, cast(null as {{ text_type() }}) as stream, cast(null as bigint) as gap_start,
        cast(null as bigint) as gap_end, cast(null as bigint) as first_missing_id,
        cast(null as bigint) as last_missing_id, cast(null as bigint) as missing_ids,
        cast(null as {{ text_type() }}) as reason, cast(null as date) as date
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(symbol as {{ text_type() }}) as symbol,
        cast(stream as {{ text_type() }}) as stream,
        case cast(stream as {{ text_type() }})
            when 'aggTrade' then 'aggTrades'
            when 'openInterest' then 'metrics'
        end as dataset,
        case when gap_start > 0 then {{ epoch_ms_to_timestamp('gap_start') }} end as gap_started_at,
        case when gap_end > 0 then {{ epoch_ms_to_timestamp('gap_end') }} end as gap_ended_at,
        case when gap_start > 0 and gap_end > 0 then (gap_end - gap_start) / 1000.0 end as gap_seconds,
        cast(first_missing_id as bigint) as first_missing_id,
        cast(last_missing_id as bigint) as last_missing_id,
        cast(missing_ids as bigint) as missing_ids,
        cast(reason as {{ text_type() }}) as reason,
        cast(date as date) as gap_date

    from source

)

select * from renamed

{{
    config(
        materialized='incremental',
        incremental_strategy=day_incremental_strategy(),
        unique_key='symbol_day',
        partition_by=day_partitions('trade_date'),
        on_schema_change='fail'
    )
}}
{#- The aggTrades profile per symbol and lake day: rows as ingested, rows after deduplication,
    invalid values, time and price ranges. Incremental like int_trades__deduplicated: a run
    profiles only the days that model (re)loaded since this one last ran, reading only those days'
    lake files, so the quality report never rescans the whole lake. -#}
{%- if is_incremental() %}
{%- set days_to_profile = days_loaded_since_last_build(ref('int_trades__deduplicated'), 'trade_date') %}
{%- endif %}
with

raw_days as (

    select
        symbol,
        trade_date,
        count(*) as raw_rows,
        cast(sum(case when price <= 0 or quantity <= 0 or price is null or quantity is null then 1 else 0 end)
            as bigint) as invalid_rows,
        min(traded_at) as first_at,
        max(traded_at) as last_at,
        min(price) as min_price,
        max(price) as max_price
    from {{ ref('stg_binance__agg_trades') }}
    {% if is_incremental() %}
    where {{ in_symbol_days('symbol', 'trade_date', days_to_profile) }}
    {% endif %}
    group by symbol, trade_date

),

clean_days as (

    select
        symbol,
        trade_date,
        count(*) as clean_rows,
        max(_loaded_at) as _loaded_at
    from {{ ref('int_trades__deduplicated') }}
    {% if is_incremental() %}
    where {{ in_symbol_days('symbol', 'trade_date', days_to_profile) }}
    {% endif %}
    group by symbol, trade_date

)

select
    raw_days.symbol,
    raw_days.trade_date,
    raw_days.raw_rows,
    coalesce(clean_days.clean_rows, 0) as clean_rows,
    raw_days.invalid_rows,
    raw_days.first_at,
    raw_days.last_at,
    raw_days.min_price,
    raw_days.max_price,
    raw_days.symbol || '/' || cast(raw_days.trade_date as {{ text_type() }}) as symbol_day,
    clean_days._loaded_at
from raw_days
left join clean_days
    on clean_days.symbol = raw_days.symbol
    and clean_days.trade_date = raw_days.trade_date

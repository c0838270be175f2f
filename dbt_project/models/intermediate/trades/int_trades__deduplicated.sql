{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='symbol_day',
        on_schema_change='fail'
    )
}}
{#-
  One row per (symbol, agg_trade_id). Incremental by day: a run (re)loads only the (symbol, day)
  partitions that are new in the lake, or whose files were ingested after the previous build
  (per the ingest manifest), and replaces exactly those days (delete+insert). A duplicate id
  always falls on the same day (the lake partitions by the trade's own UTC day), so per-day
  deduplication is complete.
-#}
with

trades as (

    select * from {{ ref('stg_binance__agg_trades') }}

),

{% if is_incremental() %}
lake_days as (

    select distinct
        symbol,
        trade_date
    from trades

),

loaded_days as (

    select distinct
        symbol,
        trade_date
    from {{ this }}

),

reingested_days as (

    select distinct
        lake_days.symbol,
        lake_days.trade_date
    from lake_days
    inner join {{ ref('stg_ingest__manifest') }} as manifest
        on manifest.symbol = lake_days.symbol
        and lake_days.trade_date between cast(manifest.first_event_at as date)
            and cast(manifest.last_event_at as date)
    where manifest.dataset = 'aggTrades'
        and manifest.status = 'loaded'
        and manifest.ingested_at > (select max(_loaded_at) from {{ this }})

),

days_to_load as (

    select lake_days.symbol, lake_days.trade_date
    from lake_days
    left join loaded_days
        on loaded_days.symbol = lake_days.symbol
        and loaded_days.trade_date = lake_days.trade_date
    where loaded_days.trade_date is null

    union

    select symbol, trade_date from reingested_days

),

trades_to_load as (

    select trades.*
    from trades
    inner join days_to_load
        on days_to_load.symbol = trades.symbol
        and days_to_load.trade_date = trades.trade_date

),
{% else %}
{#- keeps the manifest in the lineage of full builds too #}
{%- set manifest_relation = ref('stg_ingest__manifest') %}
trades_to_load as (

    select * from trades

),
{% endif %}

numbered as (

    select
        *,
        row_number() over (
            partition by symbol, agg_trade_id
            order by traded_at, first_trade_id
        ) as occurrence

    from trades_to_load

),

deduplicated as (

    select
        symbol,
        trade_date,
        agg_trade_id,
        traded_at,
        price,
        quantity,
        notional_usdt,
        taker_side,
        symbol || '/' || cast(trade_date as varchar) as symbol_day,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as _loaded_at

    from numbered
    where occurrence = 1

)

select * from deduplicated

{{
    config(
        materialized='incremental',
        incremental_strategy=day_incremental_strategy(),
        unique_key='symbol_day',
        partition_by=day_partitions('trade_date'),
        on_schema_change='fail'
    )
}}
{#-
  One row per (symbol, agg_trade_id). Incremental by day: a run (re)loads only the (symbol, day)
  partitions that are new in the lake, or whose files were ingested after the previous build
  (per the ingest manifest), and replaces exactly those days (delete+insert). The days are found
  when the model runs and written into the SQL (macro trade_days_to_load), so only their lake
  files are read. A duplicate id always falls on the same day (the lake partitions by the trade's
  own UTC day), so per-day deduplication is complete.
-#}
with

trades as (

    select * from {{ ref('stg_binance__agg_trades') }}

),

{% if is_incremental() %}
{#- The days to (re)load, as literals (macro trade_days_to_load): only their lake files are read.
    The days this table holds are read from its per-day profile (int_quality__trade_days, built
    after it in every build: one row a day) rather than from its own rows (a scan of every trade:
    6 s at a year). Were the profile behind, more days would be loaded again, never fewer. #}
{%- set profile = adapter.get_relation(this.database, this.schema, 'int_quality__trade_days') %}
{%- set days_to_load = trade_days_to_load(
    ref('stg_binance__agg_trades'), ref('stg_ingest__manifest'),
    loaded=this if profile is none else profile) %}
trades_to_load as (

    select *
    from trades
    where {{ in_symbol_days('symbol', 'trade_date', days_to_load) }}

),
{% else %}
{#- keeps the manifest in the lineage of full builds too #}
{%- set manifest_relation = ref('stg_ingest__manifest') %}
{#- A full build runs a batch of lake days per statement (macros/full_refresh_batches.sql). #}
trades_to_load as (

    select * from trades
    where {{ day_batch_filter('trade_date', ref('stg_binance__agg_trades')) }}

),
{% endif %}

numbered as (

    select
        *,
        row_number() over (
            partition by symbol, agg_trade_id
            order by traded_at, first_trade_id, price, quantity
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
        taker_side,
        symbol || '/' || cast(trade_date as {{ text_type() }}) as symbol_day,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at

    from numbered
    where occurrence = 1

)

select * from deduplicated
{#- Stored in id order on DuckDB: the window hands rows back in hash order, and sorted ids and times
    compress to half the bytes (bit-packed deltas instead of a day's span per value). #}
{%- if target.type == 'duckdb' %}
order by symbol, agg_trade_id
{%- endif %}

{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='delete+insert',
        unique_key='dataset_symbol_day',
        on_schema_change='fail'
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
{#- The profile per lake day of the big non-trade datasets (bookDepth, markPriceKlines): rows as
    ingested, distinct rows, invalid values, time and value ranges, per dataset x symbol x date=
    partition. The lake splits every file by its rows' UTC day, so a row's key (which holds its
    time) lies in one day only, and the days' distinct rows add up to the dataset's.
    Incremental: a run profiles again only the days of the lake files ingested since its last
    load (lake_days_ingested_since_last_build), reading only those days' files, so the quality
    report (int_quality__dataset_profile) does not rescan millions of depth rows on every build.
    Deleting lake files is not seen: rebuild with --full-refresh then. On Spark: a table. -#}
{%- set days = lake_days_ingested_since_last_build(['bookDepth', 'markPriceKlines']) if is_incremental() else 'all' %}
with

book_depth as (

    select * from {{ ref('stg_binance__book_depth') }}
    where {{ on_dataset_days('bookDepth', 'symbol', 'snapshot_date', days) }}

),

mark_price as (

    select * from {{ ref('stg_binance__mark_price_klines') }}
    where {{ on_dataset_days('markPriceKlines', 'symbol', 'file_date', days) }}

),

book_depth_days as (

    select
        symbol,
        snapshot_date as lake_date,
        count(*) as raw_rows,
        sum(case when depth_notional_usdt < 0 or depth_notional_usdt is null then 1 else 0 end) as invalid_rows,
        min(snapshot_at) as first_at,
        max(snapshot_at) as last_at,
        min(depth_notional_usdt) as min_value,
        max(depth_notional_usdt) as max_value
    from book_depth
    group by symbol, snapshot_date

),

book_depth_clean as (

    select symbol, lake_date, count(*) as clean_rows
    from (
        select distinct symbol, snapshot_date as lake_date, snapshot_at, depth_percentage from book_depth
        where snapshot_at is not null and depth_percentage is not null
    ) as keys
    group by symbol, lake_date

),

mark_price_days as (

    select
        symbol,
        file_date as lake_date,
        count(*) as raw_rows,
        sum(case when mark_low is null or mark_low <= 0 or mark_high < mark_low then 1 else 0 end) as invalid_rows,
        min(opened_at) as first_at,
        max(opened_at) as last_at,
        min(mark_low) as min_value,
        max(mark_high) as max_value
    from mark_price
    group by symbol, file_date

),

mark_price_clean as (

    select symbol, lake_date, count(*) as clean_rows
    from (
        select distinct symbol, file_date as lake_date, opened_at, candle_interval from mark_price
        where opened_at is not null and candle_interval is not null
    ) as keys
    group by symbol, lake_date

),

profiles as (

    select 'bookDepth' as dataset, days.*, coalesce(clean.clean_rows, 0) as clean_rows
    from book_depth_days as days
    left join book_depth_clean as clean
        on clean.symbol = days.symbol and clean.lake_date = days.lake_date

    union all

    select 'markPriceKlines' as dataset, days.*, coalesce(clean.clean_rows, 0) as clean_rows
    from mark_price_days as days
    left join mark_price_clean as clean
        on clean.symbol = days.symbol and clean.lake_date = days.lake_date

)

select
    dataset,
    symbol,
    lake_date,
    cast(raw_rows as bigint) as raw_rows,
    cast(clean_rows as bigint) as clean_rows,
    cast(invalid_rows as bigint) as invalid_rows,
    first_at,
    last_at,
    min_value,
    max_value,
    dataset || '/' || symbol || '/' || cast(lake_date as {{ text_type() }}) as dataset_symbol_day,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from profiles

{#- Rows per dataset x symbol x UTC day, after deduplication where the dataset has a key, with the
    number of rows a complete day holds where that is known (288 metrics rows). -#}
with

trades as (

    select symbol, trade_date as day, clean_rows as row_count, cast(null as bigint) as expected_rows
    from {{ ref('int_quality__trade_days') }}
    where clean_rows > 0

),

open_interest as (

    select
        symbol,
        cast(bucket_start as date) as day,
        count(*) as row_count,
        cast(24 * 60 / {{ var('bucket_minutes') }} as bigint) as expected_rows
    from {{ ref('int_open_interest__deltas') }}
    group by symbol, cast(bucket_start as date)

),

funding as (

    select symbol, cast(funded_at as date) as day, count(*) as row_count, cast(null as bigint) as expected_rows
    from {{ ref('stg_binance__funding_rates') }}
    group by symbol, cast(funded_at as date)

),

book_depth as (

    select symbol, snapshot_date as day, count(*) as row_count, cast(null as bigint) as expected_rows
    from {{ ref('stg_binance__book_depth') }}
    group by symbol, snapshot_date

),

days as (

    select 'aggTrades' as dataset, * from trades
    union all
    select 'metrics' as dataset, * from open_interest
    union all
    select 'fundingRate' as dataset, * from funding
    union all
    select 'bookDepth' as dataset, * from book_depth

)

select * from days

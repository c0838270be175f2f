{#- Per dataset x symbol: raw rows as ingested, rows after deduplication, invalid values and the
    time and value ranges; the numbers behind `liquidationheatmap validate`. aggTrades come from the
    per-day profile int_quality__trade_days, bookDepth and markPriceKlines from
    int_quality__dataset_days (both incremental), so the lake's big datasets are not rescanned. -#}
with

trades_raw as (

    select
        symbol,
        cast(sum(raw_rows) as bigint) as raw_rows,
        cast(sum(invalid_rows) as bigint) as invalid_rows,
        min(first_at) as first_at,
        max(last_at) as last_at,
        min(min_price) as min_value,
        max(max_price) as max_value
    from {{ ref('int_quality__trade_days') }}
    group by symbol

),

trades_clean as (

    select symbol, cast(sum(clean_rows) as bigint) as clean_rows
    from {{ ref('int_quality__trade_days') }}
    group by symbol

),

metrics_raw as (

    select
        symbol,
        count(*) as raw_rows,
        sum(case when open_interest is null or open_interest < 0 then 1 else 0 end) as invalid_rows,
        min(period_start) as first_at,
        max(period_start) as last_at,
        min(open_interest) as min_value,
        max(open_interest) as max_value
    from {{ ref('stg_binance__metrics') }}
    group by symbol

),

metrics_clean as (

    select symbol, count(*) as clean_rows
    from {{ ref('int_open_interest__deltas') }}
    group by symbol

),

funding as (

    select
        symbol,
        count(*) as raw_rows,
        count(distinct funded_at) as clean_rows,
        sum(case when funding_rate is null or abs(funding_rate) > 0.05 then 1 else 0 end) as invalid_rows,
        min(funded_at) as first_at,
        max(funded_at) as last_at,
        min(funding_rate) as min_value,
        max(funding_rate) as max_value
    from {{ ref('stg_binance__funding_rates') }}
    group by symbol

),

{#- bookDepth and markPriceKlines from their per-day profile (incremental), like aggTrades. #}
lake_days as (

    select
        dataset,
        symbol,
        cast(sum(raw_rows) as bigint) as raw_rows,
        cast(sum(clean_rows) as bigint) as clean_rows,
        cast(sum(invalid_rows) as bigint) as invalid_rows,
        min(first_at) as first_at,
        max(last_at) as last_at,
        min(min_value) as min_value,
        max(max_value) as max_value
    from {{ ref('int_quality__dataset_days') }}
    group by dataset, symbol

),

profiles as (

    select
        'aggTrades' as dataset, trades_raw.symbol, 'price (USDT)' as value_name,
        trades_raw.raw_rows, trades_clean.clean_rows, trades_raw.invalid_rows,
        trades_raw.first_at, trades_raw.last_at, trades_raw.min_value, trades_raw.max_value
    from trades_raw
    left join trades_clean on trades_clean.symbol = trades_raw.symbol

    union all

    select
        'metrics', metrics_raw.symbol, 'open interest (base)',
        metrics_raw.raw_rows, metrics_clean.clean_rows, metrics_raw.invalid_rows,
        metrics_raw.first_at, metrics_raw.last_at, metrics_raw.min_value, metrics_raw.max_value
    from metrics_raw
    left join metrics_clean on metrics_clean.symbol = metrics_raw.symbol

    union all

    select
        'fundingRate', symbol, 'funding rate',
        raw_rows, clean_rows, invalid_rows, first_at, last_at, min_value, max_value
    from funding

    union all

    select
        dataset, symbol,
        case when dataset = 'bookDepth' then 'depth notional (USDT)' else 'mark price (USDT)' end,
        raw_rows, clean_rows, invalid_rows, first_at, last_at, min_value, max_value
    from lake_days

)

select
    dataset,
    symbol,
    value_name,
    raw_rows,
    coalesce(clean_rows, 0) as clean_rows,
    raw_rows - coalesce(clean_rows, 0) as duplicates_removed,
    invalid_rows,
    first_at,
    last_at,
    min_value,
    max_value
from profiles

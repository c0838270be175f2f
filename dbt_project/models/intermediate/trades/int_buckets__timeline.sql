{#-
  The per-symbol timeline the lifecycle runs on: one row per 5-minute bucket with trades, its
  candle, a dense index (gaps in trading simply have no bucket), the latest open interest, and
  the cumulative log shrink L(t) = sum of ln(shrink_ratio) over open-interest rows up to t.
  A level opened at t0 holds exp(L(t) - L(t0)) of its opened quantity at t, if still unreached.
  reach_low / reach_high are the prices the lifecycle tests levels against: the bucket's mark-price
  extremes where markPriceKlines cover it (Binance liquidates on the mark price), else its trade
  low / high.
-#}
with

candles as (

    select * from {{ ref('int_trades__per_bucket') }}

),

deltas as (

    select * from {{ ref('int_open_interest__deltas') }}

),

marks as (

    select * from {{ ref('int_buckets__mark_price_extremes') }}

),

events as (

    select
        symbol,
        bucket_number,
        0 as is_candle,
        ln(shrink_ratio) as log_shrink,
        open_interest,
        cast(null as double) as open,
        cast(null as double) as high,
        cast(null as double) as low,
        cast(null as double) as close,
        cast(null as double) as notional
    from deltas

    union all

    select
        symbol,
        bucket_number,
        1 as is_candle,
        0.0 as log_shrink,
        cast(null as double) as open_interest,
        open,
        high,
        low,
        close,
        notional
    from candles

),

running as (

    select
        *,
        sum(log_shrink) over (
            partition by symbol order by bucket_number, is_candle
            rows between unbounded preceding and current row
        ) as cum_log_shrink,
        {{ last_value_ignore_nulls("open_interest") }} over (
            partition by symbol order by bucket_number, is_candle
            rows between unbounded preceding and current row
        ) as open_interest_latest
    from events

),

timeline as (

    select
        running.symbol,
        running.bucket_number,
        {{ bucket_number_to_timestamp('running.bucket_number', var('bucket_minutes')) }} as bucket_start,
        row_number() over (partition by running.symbol order by running.bucket_number) as bucket_index,
        running.open,
        running.high,
        running.low,
        running.close,
        running.notional,
        running.open_interest_latest as open_interest,
        running.cum_log_shrink,
        marks.mark_high,
        marks.mark_low,
        coalesce(marks.mark_low, running.low) as reach_low,
        coalesce(marks.mark_high, running.high) as reach_high
    from running
    left join marks
        on marks.symbol = running.symbol
        and marks.bucket_number = running.bucket_number
    where running.is_candle = 1

)

select * from timeline

{#- Highest and lowest mark price per symbol and 5-minute bucket, from the mark-price candles of
    var('mark_price_interval') (1m). Binance liquidates on the mark price; the lifecycle uses these
    extremes where a bucket has them and the trade extremes otherwise (int_buckets__timeline).
    Duplicate candles (re-ingested or overlapping files) do not change a max or a min. -#}
with

candles as (

    select * from {{ ref('stg_binance__mark_price_klines') }}
    where candle_interval = '{{ var("mark_price_interval") }}'
        and mark_high > 0
        and mark_low > 0

),

per_bucket as (

    select
        symbol,
        {{ bucket_number('opened_at', var('bucket_minutes')) }} as bucket_number,
        max(mark_high) as mark_high,
        min(mark_low) as mark_low,
        count(*) as candle_count
    from candles
    group by 1, 2

)

select * from per_bucket

{#-
  Open interest per 5-minute bucket and its change from the bucket before. Duplicate rows (same
  symbol and period) keep one. A gap (the previous row is not the previous bucket) is not a jump:
  no new positions are inferred from a rise across a gap (they opened at unknown times and
  prices), but a fall across a gap still shrinks live levels, so live notional never exceeds
  open interest. Changes are in the base asset, so price moves alone open nothing. Of duplicates
  the latest file's row is kept; the value columns break the remaining ties, so that every
  engine keeps the same row.
-#}
with

metrics as (

    select * from {{ ref('stg_binance__metrics') }}
    where open_interest is not null
        and open_interest >= 0

),

numbered as (

    select
        *,
        row_number() over (
            partition by symbol, period_start
            order by file_date desc, create_time desc,
                open_interest desc, open_interest_usdt desc nulls last,
                account_long_short_ratio desc nulls last, top_trader_position_long_short_ratio desc nulls last
        ) as occurrence
    from metrics

),

deduplicated as (

    select
        symbol,
        period_start,
        {{ bucket_number('period_start', var('bucket_minutes')) }} as bucket_number,
        open_interest,
        open_interest_usdt,
        account_long_short_ratio,
        top_trader_position_long_short_ratio
    from numbered
    where occurrence = 1

),

with_previous as (

    select
        *,
        lag(bucket_number) over (partition by symbol order by period_start) as previous_bucket_number,
        lag(open_interest) over (partition by symbol order by period_start) as previous_open_interest
    from deduplicated

),

deltas as (

    select
        symbol,
        period_start as bucket_start,
        bucket_number,
        open_interest,
        open_interest_usdt,
        previous_open_interest,
        account_long_short_ratio,
        top_trader_position_long_short_ratio,
        previous_bucket_number is not null
            and previous_bucket_number <> bucket_number - 1 as follows_gap,
        case
            when previous_bucket_number = bucket_number - 1
                then open_interest - previous_open_interest
        end as open_interest_change,
        case
            when previous_bucket_number = bucket_number - 1 and open_interest > previous_open_interest
                then open_interest - previous_open_interest
            else 0
        end as opened_quantity,
        case
            when previous_open_interest is null or previous_open_interest <= 0 then 1.0
            when open_interest >= previous_open_interest then 1.0
            else greatest(open_interest / previous_open_interest, 1e-12)
        end as shrink_ratio

    from with_previous

)

select * from deltas

{#-
  The funding_adjusted model's tilt of the long/short split, per open-interest bucket:

      long odds multiplier = (account long/short ratio) ^ long_short_ratio_exponent
                             x exp(funding_tilt_per_unit_rate x (funding rate - funding_baseline_rate))

  Positive funding (longs pay) and more long accounts both mean new positions lean long. The
  funding rate is the last one settled at or before the bucket (of two settlements at the
  same instant, the higher rate). Missing inputs give a factor 1.
-#}
with

deltas as (

    select * from {{ ref('int_open_interest__deltas') }}

),

funding as (

    select symbol, funded_at, funding_rate
    from (
        select
            symbol,
            funded_at,
            funding_rate,
            row_number() over (
                partition by symbol, funded_at
                order by funding_rate desc nulls last, funding_interval_hours desc nulls last
            ) as occurrence
        from {{ ref('stg_binance__funding_rates') }}
        where funded_at is not null
    ) as numbered
    where occurrence = 1

),

{#- Buckets and settlements in one stream per symbol, in time order (a settlement before a bucket
    at the same instant): the latest settlement at or before a bucket is the running max of the
    settlement times. A window over both streams, where a range join on [funded_at, next funded_at)
    compared every bucket with every settlement of its symbol (1.2 s at a year). -#}
events as (

    select
        symbol,
        bucket_start as event_at,
        1 as is_bucket,
        bucket_start,
        bucket_number,
        account_long_short_ratio,
        cast(null as timestamp) as funded_at
    from deltas

    union all

    select
        symbol,
        funded_at as event_at,
        0 as is_bucket,
        cast(null as timestamp) as bucket_start,
        cast(null as bigint) as bucket_number,
        cast(null as double) as account_long_short_ratio,
        funded_at
    from funding

),

with_last_funding as (

    select
        *,
        max(funded_at) over (
            partition by symbol order by event_at, is_bucket
            rows between unbounded preceding and current row
        ) as last_funded_at
    from events

),

with_funding as (

    select
        buckets.symbol,
        buckets.bucket_start,
        buckets.bucket_number,
        buckets.account_long_short_ratio,
        funding.funding_rate
    from with_last_funding as buckets
    left join funding
        on funding.symbol = buckets.symbol
        and funding.funded_at = buckets.last_funded_at
    where buckets.is_bucket = 1

),

tilted as (

    select
        symbol,
        bucket_start,
        bucket_number,
        account_long_short_ratio,
        funding_rate,
        coalesce(
            case when account_long_short_ratio > 0
                then power(account_long_short_ratio, {{ var('long_short_ratio_exponent') }})
            end,
            1.0
        )
        * exp(
            {{ var('funding_tilt_per_unit_rate') }}
            * coalesce(funding_rate - {{ var('funding_baseline_rate') }}, 0)
        ) as long_odds_multiplier

    from with_funding

)

select * from tilted

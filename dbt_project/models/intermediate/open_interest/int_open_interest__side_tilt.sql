{#-
  The funding_adjusted model's tilt of the long/short split, per open-interest bucket:

      long odds multiplier = (account long/short ratio) ^ long_short_ratio_exponent
                             x exp(funding_tilt_per_unit_rate x (funding rate - funding_baseline_rate))

  Positive funding (longs pay) and more long accounts both mean new positions lean long. The
  funding rate is the last one settled at or before the bucket. Missing inputs give a factor 1.
-#}
with

deltas as (

    select * from {{ ref('int_open_interest__deltas') }}

),

funding as (

    select
        symbol,
        funded_at,
        funding_rate,
        lead(funded_at) over (partition by symbol order by funded_at) as next_funded_at
    from {{ ref('stg_binance__funding_rates') }}

),

with_funding as (

    select
        deltas.symbol,
        deltas.bucket_start,
        deltas.bucket_number,
        deltas.account_long_short_ratio,
        funding.funding_rate
    from deltas
    left join funding
        on funding.symbol = deltas.symbol
        and deltas.bucket_start >= funding.funded_at
        and (deltas.bucket_start < funding.next_funded_at or funding.next_funded_at is null)

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

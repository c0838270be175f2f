{#-
  Live quantity per (symbol, model, side, liquidation-price bin) as a step function of time.

  A level adds w = opened_quantity x exp(-L(t0)) at its opening bucket and removes it at the
  bucket it is reached or closes by itself (closed_bucket_number, int_levels__variants); the running sum W(t) of these steps per bin, times exp(L(t)), is the bin's
  live quantity at t (every live level shrinks by the same factor, so the factor comes out of the
  sum). Each row is an interval [from, to) of buckets over which W is constant; to is null for
  the last, still open interval. Every addition and removal is at or below the current scale of
  W, so the running sum does not lose precision as history grows.

  An interval is kept while a level of the bin is live (an integer count of openings minus
  closings), not while W > 0: when the last level of a bin goes, W is a float sum that cancels to
  a residue of about 1e-18 whose sign depends on the order the engine added the steps in, so the
  test W > 0 kept or dropped the interval differently on DuckDB and Spark, and from run to run.
-#}
with

levels as (

    select * from {{ ref('int_levels__variants') }}

),

steps as (

    select
        symbol,
        model,
        side,
        liquidation_price_bin as price_bin,
        opened_bucket_number as bucket_number,
        opened_quantity * exp(-opened_cum_log_shrink) as weight_change,
        1 as level_change
    from levels

    union all

    select
        symbol,
        model,
        side,
        liquidation_price_bin as price_bin,
        closed_bucket_number as bucket_number,
        -opened_quantity * exp(-opened_cum_log_shrink) as weight_change,
        -1 as level_change
    from levels
    where closed_bucket_number is not null

),

per_bucket as (

    select
        symbol,
        model,
        side,
        price_bin,
        bucket_number,
        sum(weight_change) as weight_change,
        sum(level_change) as level_change
    from steps
    group by symbol, model, side, price_bin, bucket_number

),

intervals as (

    select
        symbol,
        model,
        side,
        price_bin,
        bucket_number as from_bucket_number,
        lead(bucket_number) over (
            partition by symbol, model, side, price_bin order by bucket_number
        ) as to_bucket_number,
        sum(weight_change) over (
            partition by symbol, model, side, price_bin order by bucket_number
            rows between unbounded preceding and current row
        ) as normalized_quantity,
        sum(level_change) over (
            partition by symbol, model, side, price_bin order by bucket_number
            rows between unbounded preceding and current row
        ) as live_levels
    from per_bucket

)

select
    symbol,
    model,
    side,
    price_bin,
    from_bucket_number,
    to_bucket_number,
    normalized_quantity
from intervals
where live_levels > 0

{#- The live liquidation levels at the latest bucket, per model x side x leverage x price bin,
    valued at that bucket's close. liquidation_price is the live-notional-weighted mean inside
    the bin.

    The levels closed before the earliest symbol's latest bucket are left out in the scan, by a
    literal bound (a join condition would read every column of the year of levels first): the
    live ones are a few percent of them. -#}
{%- set earliest_latest = scalar_query(
    "select min(last_bucket_number) from (select max(bucket_number) as last_bucket_number from "
    ~ ref('int_buckets__timeline') ~ " group by symbol) as latest") %}
with

levels as (

    select * from {{ ref('int_levels__variants') }}
    {% if earliest_latest is not none %}
    where closed_bucket_number is null or closed_bucket_number > {{ earliest_latest }}
    {% endif %}

),

timeline as (

    select * from {{ ref('int_buckets__timeline') }}

),

latest as (

    select
        timeline.symbol,
        timeline.bucket_number,
        timeline.bucket_start,
        timeline.close,
        timeline.cum_log_shrink
    from timeline
    inner join (
        select symbol, max(bucket_number) as bucket_number from timeline group by symbol
    ) as last_bucket
        on last_bucket.symbol = timeline.symbol
        and last_bucket.bucket_number = timeline.bucket_number

),

live as (

    select
        levels.symbol,
        levels.model,
        levels.side,
        levels.leverage,
        levels.liquidation_price_bin,
        levels.price_bin_size,
        levels.liquidation_price,
        levels.opened_quantity * exp(latest.cum_log_shrink - levels.opened_cum_log_shrink) as live_quantity,
        latest.bucket_start as measured_at,
        latest.close as current_price
    from levels
    inner join latest
        on latest.symbol = levels.symbol
    where levels.opened_bucket_number <= latest.bucket_number
        and (levels.closed_bucket_number > latest.bucket_number or levels.closed_bucket_number is null)

),

aggregated as (

    select
        symbol,
        model,
        side,
        cast(leverage as integer) as leverage,
        liquidation_price_bin as price_bin,
        max(price_bin_size) as price_bin_size,
        sum(liquidation_price * live_quantity) / sum(live_quantity) as liquidation_price,
        sum(live_quantity) as live_quantity,
        sum(live_quantity) * max(current_price) as live_notional,
        max(measured_at) as measured_at,
        max(current_price) as current_price,
        count(*) as position_count
    from live
    group by symbol, model, side, leverage, liquidation_price_bin

)

select
    symbol,
    model,
    side,
    leverage,
    price_bin,
    price_bin_size,
    liquidation_price,
    live_quantity,
    live_notional,
    measured_at,
    current_price,
    position_count
from aggregated
where live_notional > 0

-- A reached level's bucket really crossed its price (low <= LP for a long, high >= LP for a short),
-- is after its opening bucket, and no bucket in between crossed it. The "in between" check is a
-- range-minimum query over int_buckets__price_extremes (two overlapping power-of-two spans), an
-- independent use of that table from the lifecycle's binary-lifting search. Only the levels the
-- last run of the lifecycle wrote (its latest _loaded_at: all of them in a full build): the others
-- were checked when they were written, and the buckets up to their reach have not changed since.
with levels as (
    select distinct
        symbol, side, liquidation_price, opened_bucket_index, reached_bucket_index
    from {{ ref('int_levels__with_lifecycle') }}
    where is_reached
        and _loaded_at = (select max(_loaded_at) from {{ ref('int_levels__with_lifecycle') }})
),
at_reach as (
    select levels.*, timeline.reach_low as low, timeline.reach_high as high
    from levels
    inner join {{ ref('int_buckets__timeline') }} as timeline
        on timeline.symbol = levels.symbol
        and timeline.bucket_index = levels.reached_bucket_index
),
between_spans as (
    select
        *,
        reached_bucket_index - opened_bucket_index - 1 as buckets_between,
        case when reached_bucket_index - opened_bucket_index - 1 > 0
            then cast(floor(log2(reached_bucket_index - opened_bucket_index - 1)) as integer)
        end as span_log2
    from at_reach
),
between_extremes as (
    select
        between_spans.*,
        least(left_span.min_low, right_span.min_low) as min_low_between,
        greatest(left_span.max_high, right_span.max_high) as max_high_between
    from between_spans
    left join {{ ref('int_buckets__price_extremes') }} as left_span
        on left_span.symbol = between_spans.symbol
        and left_span.bucket_index = between_spans.opened_bucket_index + 1
        and left_span.span_log2 = between_spans.span_log2
    left join {{ ref('int_buckets__price_extremes') }} as right_span
        on right_span.symbol = between_spans.symbol
        and right_span.bucket_index = between_spans.reached_bucket_index - cast(power(2, between_spans.span_log2) as bigint)
        and right_span.span_log2 = between_spans.span_log2
)
select *
from between_extremes
where reached_bucket_index <= opened_bucket_index
    or (side = 'long' and (low > liquidation_price or min_low_between <= liquidation_price))
    or (side = 'short' and (high < liquidation_price or max_high_between >= liquidation_price))

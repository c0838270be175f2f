{#-
  Live notional per timeframe x time bucket x price bin x model x side: the heatmap.

  A timeframe (seed heatmap_timeframes) is the span of history shown, ending at the latest
  bucket, drawn at its own resolution (5 minutes for up to a day ... 1 day for a year). A cell
  holds the live notional at the END of its resolution bucket: the live quantity of the bin at
  the last 5-minute bucket with trades inside it, valued at that bucket's close. Spans longer
  than the data show the data that exists. Cells outside the window's price range widened by
  heatmap_price_range_fraction, or below heatmap_min_live_notional_usdt, are left out, which
  keeps the table bounded: at most (span / resolution) x bins x 2 models x 2 sides per timeframe.

  Incremental (a table on Spark): a run keeps the cells of the time slots that end before the
  rebuild start (levels_rebuild_from(), as int_heatmap__state_intervals) whose bins lie in a price
  range the new window's range contains (heatmap_kept_cells, macros/incremental_levels.sql), and
  computes the rest of each window: the slots from the rebuild start on, and in the earlier slots
  only the bins the window's range gained. The slots that left a window, and the bins it lost, are
  deleted. So adding a day costs the day's slots, not the year a timeframe spans; with nothing new
  the run writes nothing.
-#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{{ heatmap_delete_outside_kept_cells() }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{% if target.type != 'spark' %}-- depends_on: {{ ref('int_leverage__learned') }}{% endif %}
{%- set rebuild_start = levels_rebuild_from() if is_incremental() else 'all' %}
{%- set kept = heatmap_kept_slots(rebuild_start) %}
with

timeframes as (

    select
        timeframe,
        span_minutes / {{ var('bucket_minutes') }} as span_buckets,
        resolution_minutes / {{ var('bucket_minutes') }} as resolution_buckets,
        resolution_minutes
    from {{ ref('heatmap_timeframes') }}

),

timeline as (

    select * from {{ ref('int_buckets__timeline') }}

),

intervals as (

    select * from {{ ref('int_heatmap__state_intervals') }}
    {#- Only the intervals the run can need (the where of slot_ranges, per window, as literals). #}
    where {{ heatmap_intervals_to_read(kept, rebuild_start) }}

),

latest as (

    select symbol, max(bucket_number) as last_bucket_number
    from timeline
    {% if rebuild_start is none %}
    where 1 = 0
    {% endif %}
    group by symbol

),

kept as (

    {{ heatmap_kept_cells(kept, rebuild_start) }}

),

windows as (

    select
        latest.symbol,
        timeframes.timeframe,
        timeframes.resolution_buckets,
        timeframes.resolution_minutes,
        latest.last_bucket_number - timeframes.span_buckets + 1 as first_bucket_number,
        latest.last_bucket_number,
        cast(floor((latest.last_bucket_number - timeframes.span_buckets + 1)
            / cast(timeframes.resolution_buckets as double)) as bigint) as first_slot,
        cast(floor(latest.last_bucket_number
            / cast(timeframes.resolution_buckets as double)) as bigint) as last_slot
    from latest
    cross join timeframes

),

{#- The snapshot of a resolution bucket (slot) is its last 5-minute bucket with trades. #}
snapshots as (

    select
        windows.symbol,
        windows.timeframe,
        windows.resolution_buckets,
        cast(floor(timeline.bucket_number / cast(windows.resolution_buckets as double)) as bigint) as slot,
        max(timeline.bucket_number) as snapshot_bucket_number
    from windows
    inner join timeline
        on timeline.symbol = windows.symbol
        and timeline.bucket_number between windows.first_slot * windows.resolution_buckets
            and windows.last_bucket_number
    group by 1, 2, 3, 4

),

{#- Per snapshot (a few thousand rows), what every cell of it shares: the slot's start and the
    shrink factor exp(L) at the snapshot, computed once here rather than once per cell. #}
snapshot_values as (

    select
        snapshots.*,
        {{ bucket_number_to_timestamp('snapshots.slot * snapshots.resolution_buckets', var('bucket_minutes')) }}
            as slot_start,
        timeline.bucket_start as snapshot_at,
        timeline.close as snapshot_close,
        exp(timeline.cum_log_shrink) as snapshot_scale
    from snapshots
    inner join timeline
        on timeline.symbol = snapshots.symbol
        and timeline.bucket_number = snapshots.snapshot_bucket_number

),

price_windows as (

    select
        windows.symbol,
        windows.timeframe,
        min(timeline.low) * (1 - {{ var('heatmap_price_range_fraction') }}) as lowest_price,
        max(timeline.high) * (1 + {{ var('heatmap_price_range_fraction') }}) as highest_price
    from windows
    inner join timeline
        on timeline.symbol = windows.symbol
        and timeline.bucket_number between windows.first_slot * windows.resolution_buckets
            and windows.last_bucket_number
    group by windows.symbol, windows.timeframe

),

{#- Each interval covers the slots whose snapshot can fall inside [from, to): those not kept. #}
slot_ranges as (

    select
        intervals.*,
        windows.timeframe,
        windows.resolution_buckets,
        windows.resolution_minutes,
        greatest(
            cast(floor(intervals.from_bucket_number / cast(windows.resolution_buckets as double)) as bigint),
            windows.first_slot
        ) as first_covered_slot,
        least(
            cast(floor((coalesce(intervals.to_bucket_number, windows.last_bucket_number + 1) - 1)
                / cast(windows.resolution_buckets as double)) as bigint),
            windows.last_slot
        ) as last_covered_slot,
        coalesce(kept.kept_from_slot, windows.first_slot) as kept_from_slot,
        coalesce(kept.kept_to_slot, windows.first_slot) as kept_to_slot,
        coalesce(intervals.price_bin between kept.safe_low and kept.safe_high, false) as in_kept_range
    from intervals
    inner join windows
        on windows.symbol = intervals.symbol
    inner join price_windows
        on price_windows.symbol = windows.symbol
        and price_windows.timeframe = windows.timeframe
    left join kept
        on kept.symbol = windows.symbol
        and kept.timeframe = windows.timeframe
    where (intervals.to_bucket_number is null
            or intervals.to_bucket_number > windows.first_slot * windows.resolution_buckets)
        and intervals.price_bin between price_windows.lowest_price and price_windows.highest_price
        {#- Only intervals reaching a slot that is not kept. #}
        and (kept.kept_to_slot is null
            or intervals.to_bucket_number is null
            or intervals.to_bucket_number > kept.kept_to_slot * windows.resolution_buckets
            or intervals.from_bucket_number < kept.kept_from_slot * windows.resolution_buckets
            or not (intervals.price_bin between kept.safe_low and kept.safe_high))

),

{#- The slots of each interval that are computed: from the kept slots' end on; before it, the
    slots of a bin outside the kept range, and those before the kept slots. #}
covered_slots as (

    select *, greatest(first_covered_slot, kept_to_slot) as low_slot, last_covered_slot as high_slot
    from slot_ranges

    union all

    select *, first_covered_slot as low_slot, least(last_covered_slot, kept_to_slot - 1) as high_slot
    from slot_ranges
    where not in_kept_range

    union all

    select *, first_covered_slot as low_slot, least(last_covered_slot, kept_from_slot - 1) as high_slot
    from slot_ranges
    where in_kept_range

),

expanded as (

    select
        *,
        {{ integer_series('low_slot', 'high_slot') }} as slot
    from covered_slots
    where low_slot <= high_slot

),

cells as (

    select
        expanded.symbol,
        expanded.model,
        expanded.timeframe,
        snapshot_values.slot_start as bucket_start,
        expanded.resolution_minutes,
        snapshot_values.snapshot_at,
        expanded.price_bin,
        expanded.side,
        expanded.normalized_quantity * snapshot_values.snapshot_scale as live_quantity,
        expanded.normalized_quantity * snapshot_values.snapshot_scale
            * snapshot_values.snapshot_close as live_notional
    from expanded
    inner join snapshot_values
        on snapshot_values.symbol = expanded.symbol
        and snapshot_values.timeframe = expanded.timeframe
        and snapshot_values.slot = expanded.slot
    where snapshot_values.snapshot_bucket_number >= expanded.from_bucket_number
        and (snapshot_values.snapshot_bucket_number < expanded.to_bucket_number
            or expanded.to_bucket_number is null)

)

select
    symbol,
    model,
    timeframe,
    bucket_start,
    resolution_minutes,
    snapshot_at,
    price_bin,
    side,
    live_quantity,
    live_notional,
    {{ node_loaded_at() }} as _loaded_at
from cells
where live_notional >= {{ var('heatmap_min_live_notional_usdt') }}

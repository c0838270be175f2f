{#-
  Live notional per model x side x liquidation-price bin at the end of every bucket that ends on an
  hour boundary (the state at each scoring window's start t: int_scoring__windows starts a window
  at every hour with a bucket just before it): what the models are scored on (the `model_scoring`
  docs block). Only those buckets are read downstream (int_scoring__window_map_cells, the ensemble
  fits), so the other buckets of the hour (11 of 12 at 5 minutes) are not stored: they were 92 % of
  the rows and, at a year, the second largest table of the warehouse.

  fct_liquidation_heatmap cannot serve: each timeframe there is a span ending at the latest bucket,
  so its 5-minute cells cover at most the last day. Here every state interval of
  int_heatmap__state_intervals is expanded into the hour-end buckets with trades it covers (a
  series in steps of an hour, then an equi-join on the bucket number, so the work grows with the
  rows written, not with intervals x buckets, and no row is made only to be dropped), and
  each cell is valued like the heatmap mart's: the bin's live quantity at the end of the bucket,
  normalized_quantity x exp(L(bucket)), times the bucket's close. Cells below
  heatmap_min_live_notional_usdt are dropped as in the mart; no price window is applied (a bin's
  rank among all live bins is what the hit rate judges).

  Incremental: a cell of a past bucket never changes when later days arrive (a level reached later
  leaves the buckets after it; the shrink factor of a bucket depends on the open interest up to it),
  so a run deletes and recomputes only the buckets from live_notional_rebuild_from() on: the day
  before the earliest event of any lake file ingested, or trade loaded, since the table's last load
  (the day before because a metrics file's first end-of-period label and an aggTrades file's last
  trades can belong to the neighbouring day). Without an ingest manifest in the lake it recomputes
  everything.
  Deleting lake files is not seen: rebuild with --full-refresh then.
  learned_leverage is no exception: its walk-forward parameters apply to the levels opened after
  their window's train span (int_levels__variants), so a new window changes no past bucket; a
  re-ingested file or truth file changes windows from its day on, which the rebuild start covers
  (truth files count in it).
-#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ bucket_on_or_after_rebuild_start('bucket_start') }}{% endif %}"
    )
}}
{%- set per_hour = 60 // var('bucket_minutes') -%}
{%- if 60 % var('bucket_minutes') != 0 -%}
  {{ exceptions.raise_compiler_error("var bucket_minutes must divide an hour (the scoring windows start on the hour); got " ~ var('bucket_minutes')) }}
{%- endif %}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
with

{#- Incremental: only the intervals live at a rebuilt bucket, the open ones and those ending after
    the rebuild start's bucket (two selects, each condition pushed into the scan as a literal; the
    settled intervals of the history are not read). -#}
{%- set start = live_notional_rebuild_from() if is_incremental() else 'all' %}
intervals as (

    {% if start is none or start == 'all' %}
    select * from {{ ref('int_heatmap__state_intervals') }}
    {% else %}
    select * from {{ ref('int_heatmap__state_intervals') }}
    where to_bucket_number is null

    union all

    select * from {{ ref('int_heatmap__state_intervals') }}
    where to_bucket_number > {{ rebuild_start_bucket((start | string)[:10] ~ ' 00:00:00') }}
    {% endif %}

),

timeline as (

    select symbol, bucket_number, bucket_start, close, cum_log_shrink
    from {{ ref('int_buckets__timeline') }}

),

{#- The buckets that end on an hour boundary: the states at the scoring windows' starts. #}
window_start_buckets as (

    select * from timeline
    where date_trunc('hour', bucket_start + to_minutes({{ var('bucket_minutes') }}))
        = bucket_start + to_minutes({{ var('bucket_minutes') }})

),

{#- The buckets this run computes: all of them, or those from the rebuild start on. #}
rebuilt_buckets as (

    select * from timeline
    {% if is_incremental() %}
    where {{ bucket_on_or_after_rebuild_start('bucket_start') }}
    {% endif %}

),

{#- The bucket range each interval is expanded over: the rebuilt buckets. #}
last_bucket as (

    select
        symbol,
        min(bucket_number) as first_bucket_number,
        max(bucket_number) as last_bucket_number
    from rebuilt_buckets
    group by symbol

),

expanded as (

    select
        intervals.symbol,
        intervals.model,
        intervals.side,
        intervals.price_bin,
        intervals.normalized_quantity,
        {#- Only the buckets that end on an hour ((bucket_number + 1) % per_hour = 0, bucket numbers
            counting from the epoch), in steps of an hour from the first of them in the interval: the
            others were expanded only to be dropped by the join below (12 rows for 1 kept at 5
            minutes, which a full build spilled to DuckDB's temporary folder). DuckDB only, as the
            whole scoring folder. -#}
        unnest(range(
            greatest(intervals.from_bucket_number, last_bucket.first_bucket_number)
                + ({{ per_hour }} - 1 - greatest(intervals.from_bucket_number, last_bucket.first_bucket_number) % {{ per_hour }}) % {{ per_hour }},
            coalesce(intervals.to_bucket_number, last_bucket.last_bucket_number + 1),
            {{ per_hour }}
        )) as bucket_number
    from intervals
    inner join last_bucket
        on last_bucket.symbol = intervals.symbol
    where intervals.from_bucket_number <= last_bucket.last_bucket_number
        and coalesce(intervals.to_bucket_number, last_bucket.last_bucket_number + 1)
            > last_bucket.first_bucket_number

),

cells as (

    select
        expanded.symbol,
        expanded.model,
        timeline.bucket_start,
        expanded.price_bin,
        expanded.side,
        expanded.normalized_quantity * exp(timeline.cum_log_shrink) as live_quantity,
        expanded.normalized_quantity * exp(timeline.cum_log_shrink) * timeline.close as live_notional
    from expanded
    inner join window_start_buckets as timeline
        on timeline.symbol = expanded.symbol
        and timeline.bucket_number = expanded.bucket_number

)

select
    symbol,
    model,
    bucket_start,
    price_bin,
    side,
    live_quantity,
    live_notional,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from cells
where live_notional >= {{ var('heatmap_min_live_notional_usdt') }}

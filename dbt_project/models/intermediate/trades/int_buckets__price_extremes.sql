{#-
  Lowest reach_low and highest reach_high (mark-price extremes where present, else trade; see
  int_buckets__timeline) over 2^k consecutive buckets starting at each bucket (a sparse
  table, k = 0 .. lifecycle_max_log2_buckets). The lifecycle uses it to find, per level, the first
  later bucket whose low (high) crosses its price in about log2(buckets) hash-join steps instead
  of comparing every level with every later bucket.

  Only complete spans are kept: a row (k, i) exists when its span [i, i + 2^k - 1] ends at or
  before the symbol's last bucket. The lifecycle's search skips 2^k buckets only where the row
  says none of them crosses, so it finds the same first crossing without the spans that run past
  the end (a crossing at c is reached by the complete spans that tile [start, c)); a level with no
  crossing ends past the last bucket either way, unreached.

  Incremental: the timeline's buckets before live_notional_rebuild_from() do not change (as for
  int_levels__with_lifecycle), so a row (k, i) changes only when its span ends at or after the
  symbol's first bucket from the rebuild start on (index f): a run deletes the rows with
  i + 2^k - 1 >= f and inserts, for each k and each bucket e >= f, the span ending at e:
    - a span starting at or after f is a window over the buckets from f on;
    - a span starting before f is the least of the kept buckets' extreme from i to f - 1 (one
      running extreme over the timeline, backwards from f) and of the running extreme of the
      buckets from f to e.
  So a run writes about (k + 1) x (buckets from f on) rows (10 k at a year, where rewriting every
  span that reached the new buckets was 560 k) and does not read the sparse table. A full build
  (and Spark, where it is a table) computes every span by a window.
-#}
{%- set max_k = var('lifecycle_max_log2_buckets') -%}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where bucket_index + {{ power_of_two_expression('span_log2') }} - 1 >= {{ price_extremes_first_changed_index(this ~ '.symbol') }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
with

timeline as (

    select symbol, bucket_index, reach_low, reach_high
    from {{ ref('int_buckets__timeline') }}

),

{% if not is_incremental() %}

with_last as (

    select
        *,
        max(bucket_index) over (partition by symbol) as last_index
    from timeline

),

extremes as (

    {% for k in range(max_k + 1) %}
    select symbol, bucket_index, {{ k }} as span_log2, min_low, max_high
    from (
        select
            symbol,
            bucket_index,
            last_index,
            min(reach_low) over (
                partition by symbol order by bucket_index
                rows between current row and {{ 2 ** k - 1 }} following
            ) as min_low,
            max(reach_high) over (
                partition by symbol order by bucket_index
                rows between current row and {{ 2 ** k - 1 }} following
            ) as max_high
        from with_last
    ) as spans_{{ k }}
    where bucket_index + {{ 2 ** k - 1 }} <= last_index
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

{% else %}

first_changed as (

    select
        symbols.symbol,
        {{ price_extremes_first_changed_index('symbols.symbol') }} as first_changed_index
    from (select distinct symbol from timeline) as symbols

),

{#- The buckets from f on, with the running extremes from f. -#}
changed_buckets as (

    select
        timeline.*,
        first_changed.first_changed_index,
        min(timeline.reach_low) over (
            partition by timeline.symbol order by timeline.bucket_index
            rows between unbounded preceding and current row
        ) as low_since_first_changed,
        max(timeline.reach_high) over (
            partition by timeline.symbol order by timeline.bucket_index
            rows between unbounded preceding and current row
        ) as high_since_first_changed
    from timeline
    inner join first_changed
        on first_changed.symbol = timeline.symbol
    where timeline.bucket_index >= first_changed.first_changed_index

),

{#- Spans within the changed buckets, each found at its last bucket. -#}
spans_after_first_changed as (

    {% for k in range(max_k + 1) %}
    select symbol, bucket_index - {{ 2 ** k - 1 }} as bucket_index, {{ k }} as span_log2, min_low, max_high
    from (
        select
            symbol,
            bucket_index,
            first_changed_index,
            min(reach_low) over (
                partition by symbol order by bucket_index
                rows between {{ 2 ** k - 1 }} preceding and current row
            ) as min_low,
            max(reach_high) over (
                partition by symbol order by bucket_index
                rows between {{ 2 ** k - 1 }} preceding and current row
            ) as max_high
        from changed_buckets
    ) as spans_{{ k }}
    where bucket_index - {{ 2 ** k - 1 }} >= first_changed_index
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

{#- Spans that start before f (at a bucket >= 1) and end at a changed bucket. -#}
spans_across_first_changed as (

    select
        changed_buckets.symbol,
        changed_buckets.bucket_index - levels.span_length + 1 as bucket_index,
        levels.span_log2,
        changed_buckets.first_changed_index,
        changed_buckets.low_since_first_changed,
        changed_buckets.high_since_first_changed
    from changed_buckets
    cross join (
        values {% for k in range(max_k + 1) %}({{ k }}, {{ 2 ** k }}){{ ", " if not loop.last }}{% endfor %}
    ) as levels (span_log2, span_length)
    where changed_buckets.bucket_index - levels.span_length + 1 < changed_buckets.first_changed_index
        and changed_buckets.bucket_index - levels.span_length + 1 >= 1

),

{#- The least (greatest) of the kept buckets from each bucket to f - 1: one running extreme over
    the timeline backwards from f, read for each span's start (rather than the kept rows of the
    sparse table, whose hash join grew with the history). -#}
kept_suffix as (

    select
        timeline.symbol,
        timeline.bucket_index,
        min(timeline.reach_low) over (
            partition by timeline.symbol order by timeline.bucket_index desc
            rows between unbounded preceding and current row
        ) as low_until_first_changed,
        max(timeline.reach_high) over (
            partition by timeline.symbol order by timeline.bucket_index desc
            rows between unbounded preceding and current row
        ) as high_until_first_changed
    from timeline
    inner join first_changed
        on first_changed.symbol = timeline.symbol
    where timeline.bucket_index < first_changed.first_changed_index

),

spans_across_joined as (

    select
        spans.symbol,
        spans.bucket_index,
        spans.span_log2,
        least(kept_suffix.low_until_first_changed, spans.low_since_first_changed) as min_low,
        greatest(kept_suffix.high_until_first_changed, spans.high_since_first_changed) as max_high
    from spans_across_first_changed as spans
    left join kept_suffix
        on kept_suffix.symbol = spans.symbol
        and kept_suffix.bucket_index = spans.bucket_index

),

extremes as (

    select * from spans_after_first_changed
    union all
    select * from spans_across_joined

)

{% endif %}

select
    *,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from extremes

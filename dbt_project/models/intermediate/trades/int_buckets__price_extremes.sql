{#-
  Lowest reach_low and highest reach_high (mark-price extremes where present, else trade; see
  int_buckets__timeline) over 2^k consecutive buckets starting at each bucket (a sparse
  table, k = 0 .. lifecycle_max_log2_buckets). The lifecycle uses it to find, per level, the first
  later bucket whose low (high) crosses its price in about log2(buckets) hash-join steps instead
  of comparing every level with every later bucket.

  Incremental: the timeline's buckets before live_notional_rebuild_from() do not change (as for
  int_levels__with_lifecycle), so a row (k, i) changes only when its span [i, i + 2^k - 1] reaches
  the symbol's first bucket from the rebuild start on (index f): a run deletes and recomputes the
  rows with i + 2^k - 1 >= f, each span from the timeline's buckets i >= f - 2^k + 1 on (a span
  looks forward only). The short spans then cost the new buckets; the spans longer than the
  history still cover it all, so about a third of the table is rewritten at 90 days instead of all
  of it. On Spark: a table.
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

    select
        timeline.*
        {% if is_incremental() %}
        , {{ price_extremes_first_changed_index('timeline.symbol') }} as first_changed_index
        {% endif %}
    from {{ ref('int_buckets__timeline') }} as timeline

),

extremes as (

    {% for k in range(max_k + 1) %}
    select
        symbol,
        bucket_index,
        {{ k }} as span_log2,
        min(reach_low) over (
            partition by symbol order by bucket_index
            rows between current row and {{ 2 ** k - 1 }} following
        ) as min_low,
        max(reach_high) over (
            partition by symbol order by bucket_index
            rows between current row and {{ 2 ** k - 1 }} following
        ) as max_high
    from timeline
    {% if is_incremental() %}
    where bucket_index >= first_changed_index - {{ 2 ** k - 1 }}
    {% endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    *,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from extremes

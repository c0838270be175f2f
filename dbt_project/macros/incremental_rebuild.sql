{#
  More incremental rebuilds from the same "rebuild start" as macros/incremental_days.sql
  (live_notional_rebuild_from): the lifecycle's sparse table, and the per-day quality profile of
  the lake datasets that are not trades.
#}

{#- int_buckets__price_extremes: the timeline index of `symbol_column`'s first bucket from the rebuild
    start on, as a scalar subquery (the timeline's last index + 1 when no bucket is that late, so
    only the rows past the timeline's end are replaced; the index past every bucket when nothing
    changed). The model's pre-hook and its select use the same value, so they replace the same rows. -#}
{% macro price_extremes_first_changed_index(symbol_column) -%}
  {%- set start = live_notional_rebuild_from() -%}
  {%- if start == 'all' -%}
    1
  {%- elif start is none -%}
    (9223372036854775807)
  {%- else -%}
    (select coalesce(
        min(case when changed.bucket_start >= cast('{{ start }}' as timestamp) then changed.bucket_index end),
        max(changed.bucket_index) + 1)
     from {{ ref('int_buckets__timeline') }} as changed
     where changed.symbol = {{ symbol_column }})
  {%- endif -%}
{%- endmacro %}

{#- 2^column for a small integer column, as a bigint on every engine. -#}
{% macro power_of_two_expression(column) -%}
  cast(round(power(2, {{ column }})) as bigint)
{%- endmacro %}

{#-
  The lake days of `datasets` (dataset names of the ingest manifest) that int_quality__dataset_days
  has to profile again: every UTC day from the first to the last event of each lake file the
  manifest lists as loaded after the model's last load (max(_loaded_at)), as [dataset, symbol,
  'YYYY-MM-DD']. The lake is split by the event's UTC day (ingest/lake_writer.py), so a file's
  rows sit in exactly those date= partitions. Returns 'all' when every day must be profiled (the
  model is empty, or the lake has no manifest to say what changed).
-#}
{% macro lake_days_ingested_since_last_build(datasets) %}
  {%- if not changes_since_last_load_known() -%}
    {{ return('all') }}
  {%- endif -%}
  {%- set last_load = scalar_query("select max(_loaded_at) from " ~ this) -%}
  {%- if last_load is none -%}
    {{ return('all') }}
  {%- endif -%}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set files = run_query(
      "select dataset, symbol, cast(min(first_event_at) as date), cast(max(last_event_at) as date)"
      ~ " from " ~ ref('stg_ingest__manifest')
      ~ " where status = 'loaded' and first_event_at is not null and dataset in ('" ~ datasets | join("', '") ~ "')"
      ~ " and ingested_at > " ~ sql_timestamp_literal(last_load)
      ~ " group by dataset, symbol, source_path order by 1, 2, 3") -%}
  {%- set days = [] -%}
  {%- for row in files -%}
    {%- set first = row[2] -%}
    {%- for offset in range((row[3] - first).days + 1) -%}
      {%- set day = [row[0] | string, row[1] | string, (first + modules.datetime.timedelta(days=offset)).isoformat()] -%}
      {%- if day not in days -%}
        {%- do days.append(day) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(days) }}
{% endmacro %}

{#- Predicate: (symbol_column, day_column) is one of `days`' pairs of `dataset` (`true` for 'all'). -#}
{% macro on_dataset_days(dataset, symbol_column, day_column, days) -%}
  {%- if days == 'all' -%}
    (1 = 1)
  {%- else -%}
    {%- set pairs = [] -%}
    {%- for day in days if day[0] == dataset -%}
      {%- do pairs.append([day[1], day[2]]) -%}
    {%- endfor -%}
    {{ in_symbol_days(symbol_column, day_column, pairs) }}
  {%- endif -%}
{%- endmacro %}

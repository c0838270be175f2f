{#
  Full refresh in batches of days (DuckDB). A full build of a trade-level incremental model
  (int_trades__deduplicated: a row_number() window over every trade; the per-bucket models: a
  hash aggregate over them) done in one statement holds, sorts and spills the whole history: at
  365 days of 1 M trades the deduplication spilled 22 GB to DuckDB's temp folder. Done a batch of
  days at a time, memory and spill follow the batch, not the history.

  A model opts in with day_batch_filter(column, relation) in the WHERE clause of its full-refresh
  branch, on the rows it reads (the filter must select whole units of its result: days a row's
  output depends on only, as the incremental path already assumes). On DuckDB, when dbt creates the
  table (first build or --full-refresh), the create_table_as override below writes one statement
  per batch of var('full_refresh_batch_days') days from the relation's first day to its last: the
  first creates the table, the others insert into it, all inside the model's one transaction. The
  result is the same rows as one statement over every day. Anywhere else (Spark, an incremental
  run, a temporary table) the filter is `(1 = 1)` and nothing changes.
#}

{#- Predicate on `column` (a date or timestamp) that the full refresh replaces by each batch's
    [start, end) of days; `relation` (and its `column`) give the range of days to cover. -#}
{% macro day_batch_filter(column, relation, column_type='date') -%}
  {%- if not execute or target.type != 'duckdb' -%}
    (1 = 1)
  {%- else -%}
    {%- set bounds = run_query(
        'select cast(min(' ~ column ~ ') as date), cast(max(' ~ column ~ ') as date) from ' ~ relation).rows[0] -%}
    {%- if bounds[0] is none -%}
      (1 = 1)
    {%- else -%}
      /* day_batches {{ bounds[0] }} {{ bounds[1] }} */ ({{ column }} >= cast('__day_batch_start__' as {{ column_type }})
        and {{ column }} < cast('__day_batch_end__' as {{ column_type }}))
    {%- endif -%}
  {%- endif -%}
{%- endmacro %}

{#- The [start, end) day pairs of a model's compiled code (empty without a day_batch_filter). -#}
{% macro day_batches(compiled_code) %}
  {%- set found = modules.re.findall('/\\* day_batches (\\d{4}-\\d\\d-\\d\\d) (\\d{4}-\\d\\d-\\d\\d) \\*/', compiled_code) -%}
  {%- if found | length == 0 -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set step = var('full_refresh_batch_days') | int -%}
  {%- if step < 1 -%}
    {{ exceptions.raise_compiler_error('var full_refresh_batch_days must be a whole number of days >= 1, not ' ~ var('full_refresh_batch_days')) }}
  {%- endif -%}
  {%- set first = modules.datetime.date.fromisoformat(found | map(attribute=0) | min) -%}
  {%- set last = modules.datetime.date.fromisoformat(found | map(attribute=1) | max) -%}
  {%- set state = namespace(start=first, batches=[]) -%}
  {%- for _ in range(((last - first).days // step) + 1) -%}
    {%- set end = state.start + modules.datetime.timedelta(days=step) -%}
    {%- do state.batches.append([state.start.isoformat(), end.isoformat()]) -%}
    {%- set state.start = end -%}
  {%- endfor -%}
  {{ return(state.batches) }}
{% endmacro %}

{#- dbt-duckdb's create_table_as, batched when the code carries a day_batch_filter. -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
  {%- set batches = day_batches(compiled_code) if language == 'sql' and not temporary else [] -%}
  {%- if batches | length == 0 -%}
    {{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
  {%- else -%}
    {%- for batch in batches -%}
      {%- set batch_code = compiled_code | replace('__day_batch_start__', batch[0]) | replace('__day_batch_end__', batch[1]) -%}
      {%- if loop.first %}
    {{ dbt.duckdb__create_table_as(temporary, relation, batch_code, language, partitioned_by, sorted_by) }}
      {%- else %}
    insert into {{ relation }} select * from (
      {{ batch_code }}
    ) as day_batch;
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}

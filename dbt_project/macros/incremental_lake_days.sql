{#
  Lake days an incremental build tests again, for the tests of the lake views of the non-trade
  datasets (the rebuild start of their small per-bucket models is in macros/incremental_days.sql).

  The scope of `__lake_days_to_load__` (macros/test_scope.sql) on the lake views of the big
  non-trade datasets, bookDepth and markPriceKlines (a year of depth snapshots is 0.4 M rows a
  symbol, and their staging tests each read all of it on every build).

  The lake days tested are those of every lake file the ingest manifest lists as loaded after the
  last load of int_quality__dataset_days, the per-day profile of those datasets, which runs after
  these tests and downstream of the same views: a day whose test fails is not profiled (dbt skips
  the model), so the next build tests it again. These are the days int_quality__dataset_days
  profiles again (lake_days_ingested_since_last_build); days of earlier files passed the same tests
  when they were loaded and are unchanged (a re-ingested file is listed again). Without the profile
  or a manifest, every day is tested.
#}

{#- The staging views so scoped: relation name -> (manifest dataset, lake day column). -#}
{% macro lake_dataset_days_views() %}
  {{ return({
      'stg_binance__book_depth': ('bookDepth', 'snapshot_date'),
      'stg_binance__mark_price_klines': ('markPriceKlines', 'file_date'),
  }) }}
{% endmacro %}

{#- Predicate on `relation`'s rows (alias `scoped`): its lake day is one of the days to test. -#}
{% macro lake_dataset_days_scope(relation) %}
  {%- set dataset, day_column = lake_dataset_days_views()[relation.identifier] -%}
  {%- set profiled = adapter.get_relation(relation.database, relation.schema, 'int_quality__dataset_days') -%}
  {%- set manifest = adapter.get_relation(relation.database, relation.schema, 'stg_ingest__manifest') -%}
  {%- if profiled is none or manifest is none or '_manifest' not in var('lake_datasets') -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set last_load = scalar_query("select max(_loaded_at) from " ~ profiled) -%}
  {%- if last_load is none -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set files = run_query(
      "select symbol, cast(min(first_event_at) as date), cast(max(last_event_at) as date)"
      ~ " from " ~ manifest
      ~ " where status = 'loaded' and first_event_at is not null and dataset = '" ~ dataset ~ "'"
      ~ " and ingested_at > " ~ sql_timestamp_literal(last_load)
      ~ " group by symbol, source_path order by 1, 2") -%}
  {%- set days = [] -%}
  {%- for row in files -%}
    {%- for offset in range((row[2] - row[1]).days + 1) -%}
      {%- set day = [row[0] | string, (row[1] + modules.datetime.timedelta(days=offset)).isoformat()] -%}
      {%- if day not in days -%}
        {%- do days.append(day) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
  {{ return(in_symbol_days('scoped.symbol', 'scoped.' ~ day_column, days | sort)) }}
{% endmacro %}

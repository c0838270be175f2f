{#
  Tests on the big incremental tables (tens of millions of trades) can be scoped to what a build
  changed. A test opts in with a placeholder in its `where` config:

    __latest_load__                 rows of the table's latest load (max(_loaded_at))
    __latest_load_range(<column>)__ rows of any load whose symbol and <column> fall within the
                                    [min, max] of <column> over the latest load's rows of that
                                    symbol: with a key test, every row that could clash with a
                                    new row
    __lake_days_to_load__           on the aggTrades lake view (stg_binance__agg_trades), the lake
                                    days this build loads into int_trades__deduplicated (its tests
                                    run before that model); on the bookDepth and markPriceKlines
                                    views, the days of the files ingested since
                                    int_quality__dataset_days last profiled them
                                    (macros/incremental_lake_days.sql); `true` on any other relation and for
                                    warn-severity tests (dbt_project.yml sets it on the staging
                                    tests of models/staging/binance)
    __truth_files_changed__         on stg_truth__positions, the rows of the truth files ingest
                                    loaded (new, or again with another sha256) since the last
                                    build, which listed the files it saw in int_quality__truth_files
                                    (that model runs after these tests); `true` on any other relation.
                                    A key test then checks those files' rows among themselves: the
                                    simulator writes every file anew, so a new simulation is tested
                                    whole

  The placeholders narrow the test only when the environment variable
  LIQUIDATIONHEATMAP_TEST_SCOPE is `latest_load`, which `liquidationheatmap build` sets for an
  incremental build (rows of earlier loads are untouched by it and passed the same tests when they
  were loaded). Otherwise, in a full refresh and in any dbt command run by hand, a placeholder is
  `true` and the test covers every row. Scoped tests are error-severity checks; warnings that
  describe the data (the quality report) keep their full scope.
#}

{#- dbt's hook for a test's `where` config (overrides the global macro of the same name). -#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if not where -%}
    {{ return(relation) }}
  {%- endif -%}
  {%- set filtered -%}
    (select * from {{ relation }} as scoped where {{ resolve_test_scope(where, relation) }}) dbt_subquery
  {%- endset -%}
  {{ return(filtered) }}
{%- endmacro %}

{#- True when this build asks tests to look at the latest load only (read when tests run, not when
    dbt parses, so switching it does not cost a re-parse). -#}
{% macro test_scope_is_latest_load() %}
  {{ return(execute and env_var('LIQUIDATIONHEATMAP_TEST_SCOPE', 'all') == 'latest_load') }}
{% endmacro %}

{% macro resolve_test_scope(where, relation) %}
  {%- set range_pattern = '__latest_load_range\\((\\w+)\\)__' -%}
  {%- if not test_scope_is_latest_load() -%}
    {%- set resolved = where | replace('__latest_load__', 'true') | replace('__lake_days_to_load__', 'true')
        | replace('__truth_files_changed__', 'true') -%}
    {{ return(modules.re.sub(range_pattern, 'true', resolved)) }}
  {%- endif -%}
  {%- if '__lake_days_to_load__' in where -%}
    {{ return(where | replace('__lake_days_to_load__', lake_days_to_load_scope(relation))) }}
  {%- endif -%}
  {%- if '__truth_files_changed__' in where -%}
    {{ return(where | replace('__truth_files_changed__', truth_files_changed_scope(relation))) }}
  {%- endif -%}
  {%- set latest = scalar_query('select max(_loaded_at) from ' ~ relation) -%}
  {%- set latest_condition -%}
    {%- if latest is none -%}
      (1 = 0)
    {%- else -%}
      scoped._loaded_at = {{ sql_timestamp_literal(latest) }}
    {%- endif -%}
  {%- endset -%}
  {%- set state = namespace(resolved=where | replace('__latest_load__', latest_condition)) -%}
  {%- for column in modules.re.findall(range_pattern, state.resolved) | unique -%}
    {%- set state.resolved = state.resolved | replace(
        '__latest_load_range(' ~ column ~ ')__', latest_load_range(relation, column, latest)) -%}
  {%- endfor -%}
  {{ return(state.resolved) }}
{% endmacro %}

{#- Per symbol, `column` within the [min, max] of the latest load's rows (literals, so DuckDB
    compares them with each row group's min/max before reading it). -#}
{% macro latest_load_range(relation, column, latest) %}
  {%- if latest is none -%}
    {{ return('(1 = 0)') }}
  {%- endif -%}
  {%- set ranges = run_query(
      'select symbol, min(' ~ column ~ '), max(' ~ column ~ ') from ' ~ relation
      ~ ' where _loaded_at = ' ~ sql_timestamp_literal(latest) ~ ' group by symbol order by symbol') -%}
  {%- set conditions = [] -%}
  {%- for row in ranges -%}
    {#- Numbers as they are, timestamps (a heatmap cell's bucket_start) as timestamp literals. -#}
    {%- set low = row[1] if row[1] is number else sql_timestamp_literal(row[1]) -%}
    {%- set high = row[2] if row[2] is number else sql_timestamp_literal(row[2]) -%}
    {%- do conditions.append(
        "(scoped.symbol = '" ~ (row[0] | replace("'", "''")) ~ "' and scoped." ~ column
        ~ " between " ~ low ~ " and " ~ high ~ ")") -%}
  {%- endfor -%}
  {{ return('(' ~ (conditions | join(' or ') if conditions else '1 = 0') ~ ')') }}
{% endmacro %}

{#- The aggTrades lake days this build loads (macro trade_days_to_load against the days the
    warehouse held before the build), for error-severity tests on
    stg_binance__agg_trades: lake days loaded earlier passed the same tests then and are unchanged
    (a re-ingested day is loaded again, so it is tested again). -#}
{% macro lake_days_to_load_scope(relation) %}
  {%- if (config.get('severity') | lower) != 'error' -%}
    {{ return('true') }}
  {%- endif -%}
  {%- if relation.identifier in lake_dataset_days_views() -%}
    {{ return(lake_dataset_days_scope(relation)) }}
  {%- endif -%}
  {%- if relation.identifier != 'stg_binance__agg_trades' -%}
    {{ return('true') }}
  {%- endif -%}
  {#- The per-day profile of the last build lists the days int_trades__deduplicated held then (30
      rows to read rather than a scan of every trade); were it behind, more days would be tested. -#}
  {%- set loaded = adapter.get_relation(relation.database, relation.schema, 'int_quality__trade_days') -%}
  {%- set manifest = adapter.get_relation(relation.database, relation.schema, 'stg_ingest__manifest') -%}
  {%- if loaded is none or manifest is none -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set days = trade_days_to_load(relation, manifest, loaded) -%}
  {{ return(in_symbol_days('scoped.symbol', 'scoped.trade_date', days)) }}
{% endmacro %}

{#- The truth files of this relation's dataset that ingest loaded since the previous build listed
    them in int_quality__truth_files (new files, and files loaded again with another sha256), as a
    literal list of (symbol, file date): the engine then reads only those lake partitions. -#}
{% macro truth_files_changed_scope(relation) %}
  {%- set datasets = {'stg_truth__positions': 'positions'} -%}
  {%- set dataset = datasets.get(relation.identifier) -%}
  {%- if dataset is none or dataset not in var('truth_datasets') -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set seen = adapter.get_relation(relation.database, relation.schema, 'int_quality__truth_files') -%}
  {%- set manifest = adapter.get_relation(relation.database, relation.schema, 'stg_ingest__manifest') -%}
  {%- if seen is none or manifest is none -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set query -%}
    select distinct loaded.symbol, cast(loaded.period as date) as file_date
    from {{ manifest }} as loaded
    left join {{ seen }} as seen
        on seen.dataset = loaded.dataset
        and seen.file_path = loaded.source_path
        and seen.sha256 = loaded.sha256
    where loaded.dataset = '{{ dataset }}'
        and loaded.status = 'loaded'
        and seen.file_path is null
    order by 1, 2
  {%- endset -%}
  {%- set days = symbol_day_list(query) -%}
  {{ return(in_symbol_days('scoped.symbol', 'scoped.file_date', days)) }}
{% endmacro %}

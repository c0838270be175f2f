{#
  Incremental models work day by day. When such a model runs incrementally it asks the warehouse,
  before its SQL is sent, which (symbol, day) pairs it has to (re)build, and writes them into its
  SQL as literals. A literal list lets DuckDB skip the lake's other hive partitions and the other
  row groups of a table; a join against a table of days would read every day to find the few.
  Outside `execute` (parsing) the lists are empty.
#}

{#- Rows (symbol, day) of a query as a list of [symbol, 'YYYY-MM-DD'], in order. -#}
{% macro symbol_day_list(query) %}
  {%- if not execute -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set days = [] -%}
  {%- for row in run_query(query) -%}
    {%- do days.append([row[0] | string, row[1] | string]) -%}
  {%- endfor -%}
  {{ return(days) }}
{% endmacro %}

{#- The single value of a one-row, one-column query (none when null or outside `execute`). -#}
{% macro scalar_query(query) %}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set rows = run_query(query).rows -%}
  {{ return(rows[0][0] if rows | length > 0 else none) }}
{% endmacro %}

{#- SQL literal of a value held in Python (timestamps as timestamp literals). -#}
{% macro sql_timestamp_literal(value) -%}
  cast('{{ value.strftime("%Y-%m-%d %H:%M:%S.%f") if value is not string else value }}' as timestamp)
{%- endmacro %}

{#- Predicate: (symbol_column, day_column) is one of `days` (false for an empty list). A plain
    range test on the day comes first: DuckDB checks it against each row group's min/max and skips
    the others, where the pairs alone are tested row by row (a day of a year-long table: 0.02 s
    against 8 s). -#}
{% macro in_symbol_days(symbol_column, day_column, days) -%}
  {%- if days | length == 0 -%}
    (1 = 0)
  {%- else -%}
    {%- set dates = days | map(attribute=1) | map('string') | list | sort -%}
    ({{ day_column }} between cast('{{ dates[0] }}' as date) and cast('{{ dates[-1] }}' as date)
    and ({{ symbol_column }}, {{ day_column }}) in (
      {%- for day in days %}
      ('{{ day[0] | replace("'", "''") }}', cast('{{ day[1] }}' as date)){{ "," if not loop.last }}
      {%- endfor %}
    ))
  {%- endif -%}
{%- endmacro %}

{#- Predicate for a timestamp column: it falls on one of `days` (with a plain range test first, which
    DuckDB checks against each row group's min/max before reading it). -#}
{% macro timestamp_on_symbol_days(symbol_column, timestamp_column, days) -%}
  {%- if days | length == 0 -%}
    (1 = 0)
  {%- else -%}
    {%- set dates = days | map(attribute=1) | list | sort -%}
    {%- set last_day = modules.datetime.date.fromisoformat(dates[-1]) + modules.datetime.timedelta(days=1) -%}
    ({{ timestamp_column }} >= cast('{{ dates[0] }}' as timestamp)
      and {{ timestamp_column }} < cast('{{ last_day.isoformat() }}' as timestamp)
      and {{ in_symbol_days(symbol_column, 'cast(' ~ timestamp_column ~ ' as date)', days) }})
  {%- endif -%}
{%- endmacro %}

{#- The (symbol, trade_date) partitions of the aggTrades lake. On DuckDB from the files' paths
    (<lake>/aggTrades/symbol=S/date=D/...), which opens no file: the distinct partition values of
    the view read every file's footer (0.4 s at a year, in the model and each scoped test). -#}
{% macro lake_trade_days(trades) -%}
  {{ return(adapter.dispatch('lake_trade_days', 'liquidationheatmap')(trades)) }}
{%- endmacro %}

{% macro default__lake_trade_days(trades) -%}
  select distinct symbol, trade_date from {{ trades }}
{%- endmacro %}

{% macro duckdb__lake_trade_days(trades) -%}
  select distinct
      regexp_extract(file, '/symbol=([^/]+)/date=([^/]+)/[^/]*$', 1) as symbol,
      cast(regexp_extract(file, '/symbol=([^/]+)/date=([^/]+)/[^/]*$', 2) as date) as trade_date
  from glob('{{ env_var('LAKE_PATH', 'data/lake') }}/aggTrades/symbol=*/date=*/*.parquet')
{%- endmacro %}

{#
  The (symbol, lake day) pairs int_trades__deduplicated (`loaded`) has to (re)load: days in the
  lake it does not hold yet, and days whose aggTrades file the ingest manifest says was loaded after
  the table's last load (a re-ingested or corrected file).
#}
{% macro trade_days_to_load(trades, manifest, loaded=this) %}
  {%- set last_load = scalar_query("select max(_loaded_at) from " ~ loaded) -%}
  {%- set query -%}
    with lake_days as (
        {{ lake_trade_days(trades) }}
    ),
    loaded_days as (
        select distinct symbol, trade_date from {{ loaded }}
    ),
    new_days as (
        select lake_days.symbol, lake_days.trade_date
        from lake_days
        left join loaded_days
            on loaded_days.symbol = lake_days.symbol
            and loaded_days.trade_date = lake_days.trade_date
        where loaded_days.trade_date is null
    ),
    reingested_days as (
        select lake_days.symbol, lake_days.trade_date
        from lake_days
        inner join {{ manifest }} as manifest
            on manifest.symbol = lake_days.symbol
            and lake_days.trade_date between cast(manifest.first_event_at as date)
                and cast(manifest.last_event_at as date)
        where manifest.dataset = 'aggTrades'
            and manifest.status = 'loaded'
            {% if last_load is not none %}
            and manifest.ingested_at > {{ sql_timestamp_literal(last_load) }}
            {% endif %}
    )
    select symbol, trade_date from new_days
    {% if last_load is not none %}
    union
    select symbol, trade_date from reingested_days
    {% endif %}
    order by 1, 2
  {%- endset -%}
  {{ return(symbol_day_list(query)) }}
{% endmacro %}

{#
  The (symbol, day) pairs a model fed by int_trades__deduplicated has to rebuild: the days (of
  `day_expression`, evaluated on the trades) of every trade loaded after the model's own last load.
  All of them when the model is empty.
#}
{% macro days_loaded_since_last_build(trades, day_expression) %}
  {%- set last_load = scalar_query("select max(_loaded_at) from " ~ this) -%}
  {%- set query -%}
    select distinct symbol, {{ day_expression }} as day
    from {{ trades }}
    {% if last_load is not none %}
    where _loaded_at > {{ sql_timestamp_literal(last_load) }}
    {% endif %}
    order by 1, 2
  {%- endset -%}
  {{ return(symbol_day_list(query)) }}
{% endmacro %}


{#-
  The deduplicated trades a per-bucket model aggregates, with their own day as `bucket_date` and
  their notional (price x quantity, as stg_binance__agg_trades computes it: not stored in
  int_trades__deduplicated, where it would be the largest column).

  A day's file can hold a few trades stamped just after midnight, so a bucket's trades can sit in
  two lake days. Buckets are therefore grouped by the trades' own day (bucket_date), and an
  incremental run recomputes every bucket day touched by the trades loaded since the model's last
  run, from all trades of that day. The days are written into the SQL as literals
  (days_loaded_since_last_build), so DuckDB reads only their row groups. A full build reads all,
  a batch of days per statement (day_batch_filter, macros/full_refresh_batches.sql).
#}
{% macro trades_of_days_to_rebuild(deduplicated_trades) %}
  {%- if is_incremental() %}
  {%- set days_to_rebuild = days_loaded_since_last_build(deduplicated_trades, 'cast(traded_at as date)') %}
  {%- endif %}
    select
        *,
        price * quantity as notional_usdt,
        cast(traded_at as date) as bucket_date
    from {{ deduplicated_trades }}
    {% if is_incremental() %}
    where {{ timestamp_on_symbol_days('symbol', 'traded_at', days_to_rebuild) }}
    {% else %}
    where {{ day_batch_filter('traded_at', deduplicated_trades, 'timestamp') }}
    {% endif %}
{% endmacro %}


{#-
  Whether an incremental model can tell what changed since its last load: the lake has an ingest
  manifest, and `this` has _loaded_at (a table built before it had the column cannot say; the
  model then rebuilds all, and dbt stops on the schema change and asks for a --full-refresh of it).
-#}
{% macro changes_since_last_load_known() %}
  {%- if '_manifest' not in var('lake_datasets') -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
  {{ return('_loaded_at' in columns) }}
{% endmacro %}

{#-
  Where an incremental model that is rebuilt from a point in time on (int_scoring__live_notional_per_bucket)
  starts: midnight of the day before the earliest of
  - the first event of any lake file the ingest manifest lists as loaded after the model's last load
    (max(_loaded_at) of `this`): new or corrected trades, metrics and funding, and recorded
    liquidations (learned_leverage's walk-forward fit reads them; the true positions count only
    with_positions, for the oracle reference map: no model reads them);
  - the first bucket of int_trades__per_bucket holding trades loaded after that load (the same days
    in a full `build`; after a build that selected this model alone, it still catches up with the
    trades its upstream loads later).
  Returns 'all' when every bucket must be computed (the model is empty, or the lake has no manifest
  to say what changed) and none when nothing changed since.
-#}
{% macro live_notional_rebuild_from(with_positions=false) %}
  {%- if not changes_since_last_load_known() -%}
    {{ return('all') }}
  {%- endif -%}
  {%- set last_load = scalar_query("select max(_loaded_at) from " ~ this) -%}
  {%- if last_load is none -%}
    {{ return('all') }}
  {%- endif -%}
  {%- set earliest = scalar_query(
      "select cast(min(day) as date) - 1 from ("
      ~ " select min(first_event_at) as day from " ~ ref('stg_ingest__manifest')
      ~ " where status = 'loaded'" ~ ("" if with_positions else " and dataset <> 'positions'")
      ~ " and ingested_at > " ~ sql_timestamp_literal(last_load)
      ~ " union all select min(bucket_start) from " ~ ref('int_trades__per_bucket')
      ~ " where _loaded_at > " ~ sql_timestamp_literal(last_load) ~ ") as changes") -%}
  {{ return(earliest) }}
{% endmacro %}

{#- Predicate: `column` (a bucket start) lies in what this incremental run recomputes. -#}
{% macro bucket_on_or_after_rebuild_start(column) -%}
  {{ _on_or_after_rebuild_start(column, "cast('{start}' as timestamp)") }}
{%- endmacro %}

{#- Predicate: the bucket number `column` lies in what this incremental run recomputes (the buckets
    from live_notional_rebuild_from() on; bucket_on_or_after_rebuild_start for a bucket number). -#}
{% macro bucket_number_on_or_after_rebuild_start(column) -%}
  {{ _on_or_after_rebuild_start(column, bucket_number("cast('{start}' as timestamp)", var('bucket_minutes'))) }}
{%- endmacro %}

{#- `column >= bound` with live_notional_rebuild_from() written into `bound` for '{start}'; every row
    when everything is rebuilt, none when nothing changed. -#}
{% macro _on_or_after_rebuild_start(column, bound) -%}
  {%- set start = live_notional_rebuild_from() -%}
  {%- if start == 'all' -%}
    (1 = 1)
  {%- elif start is none -%}
    (1 = 0)
  {%- else -%}
    ({{ column }} >= {{ bound | replace('{start}', start | string) }})
  {%- endif -%}
{%- endmacro %}


{#-
  How a day-by-day incremental model replaces the days it rebuilds:
    DuckDB  day_replace (below): the days' rows are deleted, the new ones inserted;
    Spark   insert_overwrite of the table's (symbol, <day column>) partitions: the partitions the
            new rows fall in are replaced whole (dbt-spark sets dynamic partition overwrite), which
            is the same days; a Parquet table on Spark has no row-level delete.
  Used in the models' config: incremental_strategy=day_incremental_strategy(),
  partition_by=day_partitions('trade_date').
-#}
{% macro day_incremental_strategy() -%}
  {{ return('insert_overwrite' if target.type == 'spark' else 'day_replace') }}
{%- endmacro %}

{#-
  DuckDB's delete+insert for the day-by-day models (incremental_strategy 'day_replace', whose
  tables hold one day per (symbol, trade_date), unique_key symbol_day): the (symbol, trade_date)
  pairs of the new rows are read from the temporary table (a few rows a day) and the delete names
  them as literals behind a range on trade_date (in_symbol_days), so DuckDB visits only those
  days' row groups. dbt's delete+insert deletes `where symbol_day in (select ...)`, a semi-join
  that tests every row of the table: 1-4 s at a year of trades, growing with history.
-#}
{% macro get_incremental_day_replace_sql(arg_dict) %}
  {%- set target_relation = arg_dict['target_relation'] -%}
  {%- set source = arg_dict['temp_relation'] -%}
  {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
  {%- set days = symbol_day_list(
      'select distinct symbol, trade_date from ' ~ source ~ ' order by 1, 2') -%}
    delete from {{ target_relation }}
    where {{ in_symbol_days('symbol', 'trade_date', days) }};

    insert into {{ target_relation }} ({{ columns }})
    (
        select {{ columns }}
        from {{ source }}
    )
{%- endmacro %}

{% macro day_partitions(day_column) -%}
  {{ return(['symbol', day_column] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- Predicate for the scoring windows (int_scoring__windows and its cells): `column` (a window
    start t) lies in what this incremental run recomputes. A window [t, t + h) reads the buckets up
    to t + h, so every window that ends after the rebuild start is recomputed: t >= start minus the
    longest horizon. `column` may be a bucket start whose window starts `column_lead_minutes` later:
    the bound then moves back by as much, on the bare column, so DuckDB still skips the row groups
    of earlier buckets by their min/max (a bound on `column + interval` reads every row group). -#}
{% macro scoring_window_on_or_after_rebuild_start(column, with_positions=false, column_lead_minutes=0) -%}
  {%- set start = live_notional_rebuild_from(with_positions) -%}
  {%- if start == 'all' -%}
    (1 = 1)
  {%- elif start is none -%}
    (1 = 0)
  {%- else -%}
    ({{ column }} >= cast('{{ start }}' as timestamp) - to_hours({{ var('score_horizons_hours') | max }})
      {%- if column_lead_minutes %} - to_minutes({{ column_lead_minutes }}){% endif %})
  {%- endif -%}
{%- endmacro %}

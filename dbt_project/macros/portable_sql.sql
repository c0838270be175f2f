{#
  The few engine-specific expressions of the project, each behind adapter.dispatch so the models
  stay portable: DuckDB is the engine here; `default__` is ANSI-ish SQL (Trino/Spark spell some of
  these differently and can add their own `<adapter>__` implementation without touching a model).
#}

{# Milliseconds since the Unix epoch (BIGINT) -> TIMESTAMP (UTC, naive). #}
{% macro epoch_ms_to_timestamp(column) -%}
  {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'liquidationheatmap')(column)) }}
{%- endmacro %}
{% macro default__epoch_ms_to_timestamp(column) -%}
  (timestamp '1970-01-01 00:00:00' + ({{ column }}) * interval '0.001' second)
{%- endmacro %}
{% macro duckdb__epoch_ms_to_timestamp(column) -%}
  epoch_ms(cast({{ column }} as bigint))
{%- endmacro %}

{# TIMESTAMP -> whole seconds since the Unix epoch (BIGINT), rounded down (a cast alone rounds to
   nearest, which would put 23:59:59.9 in the next day's first bucket). #}
{% macro timestamp_to_epoch_seconds(column) -%}
  {{ return(adapter.dispatch('timestamp_to_epoch_seconds', 'liquidationheatmap')(column)) }}
{%- endmacro %}
{% macro default__timestamp_to_epoch_seconds(column) -%}
  cast(floor(extract(epoch from {{ column }})) as bigint)
{%- endmacro %}
{% macro duckdb__timestamp_to_epoch_seconds(column) -%}
  cast(floor(epoch({{ column }})) as bigint)
{%- endmacro %}

{# Whole seconds since the Unix epoch -> TIMESTAMP. #}
{% macro epoch_seconds_to_timestamp(column) -%}
  {{ return(adapter.dispatch('epoch_seconds_to_timestamp', 'liquidationheatmap')(column)) }}
{%- endmacro %}
{% macro default__epoch_seconds_to_timestamp(column) -%}
  (timestamp '1970-01-01 00:00:00' + ({{ column }}) * interval '1' second)
{%- endmacro %}
{% macro duckdb__epoch_seconds_to_timestamp(column) -%}
  to_timestamp(cast({{ column }} as bigint))::timestamp
{%- endmacro %}

{#
  Number of the fixed-size time bucket holding a timestamp, counted from the Unix epoch:
  floor(epoch seconds / (minutes x 60)). Bucket numbers are what the lifecycle and the heatmap
  do arithmetic on; `bucket_number_to_timestamp` turns them back into the bucket's start.
#}
{% macro bucket_number(column, minutes) -%}
  cast(floor({{ timestamp_to_epoch_seconds(column) }} / ({{ minutes }} * 60.0)) as bigint)
{%- endmacro %}
{% macro bucket_number_to_timestamp(number, minutes) -%}
  {{ epoch_seconds_to_timestamp('(' ~ number ~ ') * ' ~ minutes ~ ' * 60') }}
{%- endmacro %}

{# Value of `value` on the row where `ordering` is smallest/largest (open and close of a candle). #}
{% macro arg_min(value, ordering) -%}
  {{ return(adapter.dispatch('arg_min', 'liquidationheatmap')(value, ordering)) }}
{%- endmacro %}
{% macro default__arg_min(value, ordering) -%}
  min_by({{ value }}, {{ ordering }})
{%- endmacro %}
{% macro duckdb__arg_min(value, ordering) -%}
  arg_min({{ value }}, {{ ordering }})
{%- endmacro %}
{% macro arg_max(value, ordering) -%}
  {{ return(adapter.dispatch('arg_max', 'liquidationheatmap')(value, ordering)) }}
{%- endmacro %}
{% macro default__arg_max(value, ordering) -%}
  max_by({{ value }}, {{ ordering }})
{%- endmacro %}
{% macro duckdb__arg_max(value, ordering) -%}
  arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{#
  Select-list expression that expands one row into one row per integer in [low, high]
  (the heatmap turns a state interval into the snapshots it covers).
#}
{% macro integer_series(low, high) -%}
  {{ return(adapter.dispatch('integer_series', 'liquidationheatmap')(low, high)) }}
{%- endmacro %}
{% macro default__integer_series(low, high) -%}
  explode(sequence({{ low }}, {{ high }}))
{%- endmacro %}
{% macro duckdb__integer_series(low, high) -%}
  unnest(range({{ low }}, {{ high }} + 1))
{%- endmacro %}

{# Comma-separated list of a text column's values, in order (data coverage reports). #}
{% macro string_list(column, ordering) -%}
  {{ return(adapter.dispatch('string_list', 'liquidationheatmap')(column, ordering)) }}
{%- endmacro %}
{% macro default__string_list(column, ordering) -%}
  listagg({{ column }}, ', ') within group (order by {{ ordering }})
{%- endmacro %}
{% macro duckdb__string_list(column, ordering) -%}
  string_agg({{ column }}, ', ' order by {{ ordering }})
{%- endmacro %}


{#- The same constructs on Spark SQL (dbt-spark; Spark 4, ANSI mode on or off). -#}
{% macro spark__epoch_ms_to_timestamp(column) -%}
  timestamp_millis(cast({{ column }} as bigint))
{%- endmacro %}
{% macro spark__timestamp_to_epoch_seconds(column) -%}
  cast(floor(unix_micros(cast({{ column }} as timestamp)) / 1000000.0) as bigint)
{%- endmacro %}
{% macro spark__epoch_seconds_to_timestamp(column) -%}
  timestamp_seconds(cast({{ column }} as bigint))
{%- endmacro %}

{#- Text type of casts: DuckDB's varchar; Spark has no varchar without a length (string). -#}
{% macro text_type() -%}
  {{ return(adapter.dispatch('text_type', 'liquidationheatmap')()) }}
{%- endmacro %}
{% macro default__text_type() -%}
  varchar
{%- endmacro %}
{% macro spark__text_type() -%}
  string
{%- endmacro %}

{#- A list of text values (the manifest's output paths). -#}
{% macro text_list_type() -%}
  {{ return(adapter.dispatch('text_list_type', 'liquidationheatmap')()) }}
{%- endmacro %}
{% macro default__text_list_type() -%}
  varchar[]
{%- endmacro %}
{% macro spark__text_list_type() -%}
  array<string>
{%- endmacro %}

{#- The last non-null value of a window frame: DuckDB spells `ignore nulls` inside the call, Spark
    takes it as the second argument. -#}
{% macro last_value_ignore_nulls(expression) -%}
  {{ return(adapter.dispatch('last_value_ignore_nulls', 'liquidationheatmap')(expression)) }}
{%- endmacro %}
{% macro default__last_value_ignore_nulls(expression) -%}
  last_value({{ expression }}) ignore nulls
{%- endmacro %}
{% macro duckdb__last_value_ignore_nulls(expression) -%}
  last_value({{ expression }} ignore nulls)
{%- endmacro %}
{% macro spark__last_value_ignore_nulls(expression) -%}
  last_value({{ expression }}, true)
{%- endmacro %}

{#- Whole days from `earlier` to `later` (two dates): DuckDB subtracts dates to an integer, Spark to
    an interval. -#}
{% macro days_between(earlier, later) -%}
  {{ return(adapter.dispatch('days_between', 'liquidationheatmap')(earlier, later)) }}
{%- endmacro %}
{% macro default__days_between(earlier, later) -%}
  ({{ later }} - {{ earlier }})
{%- endmacro %}
{% macro spark__days_between(earlier, later) -%}
  datediff({{ later }}, {{ earlier }})
{%- endmacro %}

{#- A date `days` days after `day` (a date). -#}
{% macro add_days(day, days) -%}
  {{ return(adapter.dispatch('add_days', 'liquidationheatmap')(day, days)) }}
{%- endmacro %}
{% macro default__add_days(day, days) -%}
  ({{ day }} + {{ days }})
{%- endmacro %}
{% macro spark__add_days(day, days) -%}
  date_add({{ day }}, {{ days }})
{%- endmacro %}

{#- numerator / denominator, null when the denominator is 0. DuckDB returns null for x / 0 already;
    Spark under ANSI mode (the default of Spark 4 and Databricks) raises DIVIDE_BY_ZERO. -#}
{% macro safe_divide(numerator, denominator) -%}
  {{ return(adapter.dispatch('safe_divide', 'liquidationheatmap')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__safe_divide(numerator, denominator) -%}
  (({{ numerator }}) / nullif({{ denominator }}, 0))
{%- endmacro %}
{% macro spark__safe_divide(numerator, denominator) -%}
  try_divide({{ numerator }}, {{ denominator }})
{%- endmacro %}

{#- Integer quotient, rounded down: DuckDB `//`, Spark `div` (both truncate toward zero for
    negatives; the project divides non-negative numbers only). -#}
{% macro integer_divide(numerator, denominator) -%}
  {{ return(adapter.dispatch('integer_divide', 'liquidationheatmap')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__integer_divide(numerator, denominator) -%}
  cast(floor(({{ numerator }}) / ({{ denominator }})) as bigint)
{%- endmacro %}
{% macro duckdb__integer_divide(numerator, denominator) -%}
  (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}
{% macro spark__integer_divide(numerator, denominator) -%}
  (({{ numerator }}) div ({{ denominator }}))
{%- endmacro %}

{#- Natural logarithm: DuckDB's log() is base 10, Spark's is natural; ln() is both's natural log. -#}
{% macro natural_log(value) -%}
  {{ return(adapter.dispatch('natural_log', 'liquidationheatmap')(value)) }}
{%- endmacro %}
{% macro default__natural_log(value) -%}
  ln({{ value }})
{%- endmacro %}

{#- Quantile `fraction` (0..1) of `column`, interpolated between neighbouring values. -#}
{% macro quantile_cont(column, fraction) -%}
  {{ return(adapter.dispatch('quantile_cont', 'liquidationheatmap')(column, fraction)) }}
{%- endmacro %}
{% macro default__quantile_cont(column, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}
{% macro duckdb__quantile_cont(column, fraction) -%}
  quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{#- `select * except the columns`: DuckDB `exclude`, Spark `except`. -#}
{% macro star_except(relation_alias, columns) -%}
  {{ return(adapter.dispatch('star_except', 'liquidationheatmap')(relation_alias, columns)) }}
{%- endmacro %}
{% macro default__star_except(relation_alias, columns) -%}
  {{ relation_alias }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__star_except(relation_alias, columns) -%}
  {{ relation_alias }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- The rows of `select_sql` where `window_expression` (a window function over its output columns)
    meets `condition` (e.g. '= 1'): DuckDB's `qualify`; Spark has none, so a subquery. -#}
{% macro qualify_filter(select_sql, window_expression, condition) -%}
  {{ return(adapter.dispatch('qualify_filter', 'liquidationheatmap')(select_sql, window_expression, condition)) }}
{%- endmacro %}
{% macro default__qualify_filter(select_sql, window_expression, condition) -%}
  select {{ star_except('windowed', ['qualify_value']) }}
  from (
      select unqualified.*, {{ window_expression }} as qualify_value
      from ({{ select_sql }}) as unqualified
  ) as windowed
  where qualify_value {{ condition }}
{%- endmacro %}
{% macro duckdb__qualify_filter(select_sql, window_expression, condition) -%}
  select * from ({{ select_sql }}) as unqualified qualify {{ window_expression }} {{ condition }}
{%- endmacro %}

{#- One list per group (ordered) and its length: DuckDB list()/len(), Spark collect_list()/size(). -#}
{% macro list_agg(column, ordering) -%}
  {{ return(adapter.dispatch('list_agg', 'liquidationheatmap')(column, ordering)) }}
{%- endmacro %}
{% macro default__list_agg(column, ordering) -%}
  list({{ column }} order by {{ ordering }})
{%- endmacro %}
{% macro spark__list_agg(column, ordering) -%}
  transform(array_sort(collect_list(struct({{ ordering }} as k, {{ column }} as v))), x -> x.v)
{%- endmacro %}
{% macro list_length(list) -%}
  {{ return(adapter.dispatch('list_length', 'liquidationheatmap')(list)) }}
{%- endmacro %}
{% macro default__list_length(list) -%}
  len({{ list }})
{%- endmacro %}
{% macro spark__list_length(list) -%}
  size({{ list }})
{%- endmacro %}

{#- The same sum on every engine and in every run: sum(x) of doubles depends on the order the
    rows are added in, which changes with the engine, its threads and its partitions (DuckDB's
    and Spark's parallel aggregates both combine partial sums in whatever order they finish). A
    last-bit difference is harmless in a value, but not where a value meets a cut: the entry price
    of a bin (notional / quantity) feeds the liquidation price, which lands exactly on a price-bin
    edge or a traded price whenever the entry price is a price-grid value (81,443.75 at 25x under
    a 0.4 % margin ratio is 78,500 exactly), so one unit in the last place moved levels between
    bins and reached or unreached them (issue 13). Each term is rounded to `decimals` decimal
    places (10^-decimals units, an integer) and the integers are summed: integer addition is
    exact and order-free, the rounding is the same IEEE arithmetic on both engines, and a bigint
    converts to the nearest double on both. Keep |sum| x 10^decimals below 9.2e18 (bigint). -#}
{% macro exact_sum(expression, decimals) -%}
  {%- set scale = 'cast(' ~ (10 ** decimals) ~ ' as double)' %}
  (cast(sum(cast(floor(({{ expression }}) * {{ scale }} + 0.5) as bigint)) as double) / {{ scale }})
{%- endmacro %}

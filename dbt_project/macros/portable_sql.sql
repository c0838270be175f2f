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

{# The files matching a glob, as a relation (file_path, size_bytes, last_modified): their metadata,
   not their content. No portable SQL lists files; another engine adds its own implementation. #}
{% macro file_listing(glob) -%}
  {{ return(adapter.dispatch('file_listing', 'liquidationheatmap')(glob)) }}
{%- endmacro %}
{% macro default__file_listing(glob) -%}
  {{ exceptions.raise_compiler_error("file_listing: no implementation for adapter " ~ adapter.type()
      ~ "; add a " ~ adapter.type() ~ "__file_listing macro") }}
{%- endmacro %}
{% macro duckdb__file_listing(glob) -%}
  (select filename as file_path, size as size_bytes, last_modified from read_blob('{{ glob }}'))
{%- endmacro %}

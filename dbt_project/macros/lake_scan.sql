{#
  The rows of one lake dataset, as a relation to select from. Every staging model reads the lake
  through this macro, so the same model runs on every engine:

    DuckDB  the dbt source's meta.external_location: read_parquet(<lake>/<dataset>/*/*/*.parquet,
            hive_partitioning = true, union_by_name = true), spelled once in the sources' YAML;
    Spark   parquet.`<lake>/<dataset>`: Spark discovers the symbol=/date= partitions itself
            (external-table packages from the dbt hub, which would declare the files as tables,
            cannot be installed here). The manifest is a flat folder of files, read by glob.

  The source() call keeps the lineage site's edge from the source to the model on both engines.
#}
{% macro lake_scan(dataset) -%}
  {%- set names = {
      'aggTrades': ('binance', 'agg_trades'),
      'metrics': ('binance', 'metrics'),
      'fundingRate': ('binance', 'funding_rate'),
      'bookDepth': ('binance', 'book_depth'),
      'markPriceKlines': ('binance', 'mark_price_klines'),
      'liveGaps': ('live', 'gaps'),
      '_manifest': ('ingest', 'manifest'),
      'liquidations': ('truth', 'liquidations'),
      'positions': ('truth', 'positions'),
  } -%}
  {%- if dataset not in names -%}
    {{ exceptions.raise_compiler_error("lake_scan: unknown lake dataset " ~ dataset ~ " (known: "
        ~ names.keys() | join(', ') ~ ")") }}
  {%- endif -%}
  {%- set relation = source(names[dataset][0], names[dataset][1]) -%}
  {{ return(adapter.dispatch('lake_scan', 'liquidationheatmap')(dataset, relation)) }}
{%- endmacro %}

{% macro default__lake_scan(dataset, relation) -%}
  {{ relation }}
{%- endmacro %}

{% macro spark__lake_scan(dataset, relation) -%}
  {%- set lake = env_var('LAKE_PATH', 'data/lake') -%}
  {%- if dataset == '_manifest' -%}
    parquet.`{{ lake }}/_manifest/manifest-*.parquet`
  {%- else -%}
    parquet.`{{ lake }}/{{ dataset }}`
  {%- endif -%}
{%- endmacro %}

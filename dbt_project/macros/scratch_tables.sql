{#-
  dbt-duckdb runs an incremental Python model by writing its result to `<model>__dbt_tmp<time>`
  and inserting that into the model's table. For SQL models that relation is a temporary table,
  gone with the connection; for Python models dbt-duckdb (1.11, py_write_table) creates it as an
  ordinary table and never drops it, so every incremental build left one behind per Python model:
  eight tables a build, the ensemble heatmap's some 0.5 M rows each, a warehouse and a catalog
  growing with every day built. The project's on-run-end hook drops every such table left in the
  working database (by this build, or by one that failed or was killed before its hook ran).
-#}
{% macro drop_scratch_tables() %}
  {%- if execute and target.type == 'duckdb' -%}
    {%- set query -%}
      select schema_name, table_name
      from duckdb_tables()
      where database_name = current_database()
        and not temporary
        and contains(table_name, '__dbt_tmp')
      order by 1, 2
    {%- endset -%}
    {%- for row in run_query(query) -%}
      {%- do run_query('drop table if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
    {%- endfor -%}
  {%- endif -%}
  select 1
{% endmacro %}

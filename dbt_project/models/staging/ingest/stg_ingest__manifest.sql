{#- `liquidationheatmap build` hands dbt the manifest as one file (LAKE_MANIFEST: the lake's files
    copied when the build started, liquidationheatmap/dbt_runner.py snapshot_lake_manifest): the
    manifest is a file per ingest run, and each of the hundred queries of it a build makes opened
    them all. Read here, not in the source's location, so that the copy's path is no change to the
    project for dbt's state:modified. Run by hand, dbt reads the lake's files. -#}
{%- set manifest_source = lake_scan('_manifest') -%}
{%- set snapshot = env_var('LAKE_MANIFEST', '') if target.type != 'spark' else '' %}
with

{% if lake_has('_manifest') %}
source as (

    select * from {{ "read_parquet('" ~ snapshot | replace("'", "''") ~ "')" if snapshot else manifest_source }}

),
{% else %}
{#- No ingest manifest in the lake (data placed there by hand): an empty, typed relation. #}
source as (

    select
        cast(null as {{ text_type() }}) as run_id, cast(null as timestamp) as ingested_at,
        cast(null as {{ text_type() }}) as source_path, cast(null as {{ text_type() }}) as file_name,
        cast(null as {{ text_type() }}) as dataset, cast(null as {{ text_type() }}) as symbol, cast(null as {{ text_type() }}) as market,
        cast(null as {{ text_type() }}) as frequency, cast(null as {{ text_type() }}) as period,
        cast(null as {{ text_type() }}) as kline_interval, cast(null as bigint) as size_bytes,
        cast(null as {{ text_type() }}) as sha256, cast(null as {{ text_type() }}) as checksum_verdict,
        cast(null as bigint) as rows_loaded, cast(null as bigint) as rows_rejected,
        cast(null as timestamp) as first_event_time, cast(null as timestamp) as last_event_time,
        cast(null as {{ text_type() }}) as status, cast(null as {{ text_type() }}) as reason,
        cast(null as {{ text_list_type() }}) as output_paths
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(run_id as {{ text_type() }}) as run_id,
        cast(ingested_at as timestamp) as ingested_at,
        cast(source_path as {{ text_type() }}) as source_path,
        cast(file_name as {{ text_type() }}) as file_name,
        cast(dataset as {{ text_type() }}) as dataset,
        cast(symbol as {{ text_type() }}) as symbol,
        cast(market as {{ text_type() }}) as market,
        cast(frequency as {{ text_type() }}) as frequency,
        cast(period as {{ text_type() }}) as period,
        cast(kline_interval as {{ text_type() }}) as kline_interval,
        cast(size_bytes as bigint) as size_bytes,
        cast(sha256 as {{ text_type() }}) as sha256,
        cast(checksum_verdict as {{ text_type() }}) as checksum_verdict,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_rejected as bigint) as rows_rejected,
        cast(first_event_time as timestamp) as first_event_at,
        cast(last_event_time as timestamp) as last_event_at,
        cast(status as {{ text_type() }}) as status,
        cast(reason as {{ text_type() }}) as reason,
        output_paths

    from source

)

select * from renamed

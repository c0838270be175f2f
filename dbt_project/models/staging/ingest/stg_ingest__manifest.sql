{%- set manifest_source = source('ingest', 'manifest') -%}
with

{% if lake_has('_manifest') %}
source as (

    select * from {{ manifest_source }}

),
{% else %}
{#- No ingest manifest in the lake (data placed there by hand): an empty, typed relation. #}
source as (

    select
        cast(null as varchar) as run_id, cast(null as timestamp) as ingested_at,
        cast(null as varchar) as source_path, cast(null as varchar) as file_name,
        cast(null as varchar) as dataset, cast(null as varchar) as symbol, cast(null as varchar) as market,
        cast(null as varchar) as frequency, cast(null as varchar) as period,
        cast(null as varchar) as kline_interval, cast(null as bigint) as size_bytes,
        cast(null as varchar) as sha256, cast(null as varchar) as checksum_verdict,
        cast(null as bigint) as rows_loaded, cast(null as bigint) as rows_rejected,
        cast(null as timestamp) as first_event_time, cast(null as timestamp) as last_event_time,
        cast(null as varchar) as status, cast(null as varchar) as reason,
        cast(null as varchar[]) as output_paths
    where 1 = 0

),
{% endif %}

renamed as (

    select
        cast(run_id as varchar) as run_id,
        cast(ingested_at as timestamp) as ingested_at,
        cast(source_path as varchar) as source_path,
        cast(file_name as varchar) as file_name,
        cast(dataset as varchar) as dataset,
        cast(symbol as varchar) as symbol,
        cast(market as varchar) as market,
        cast(frequency as varchar) as frequency,
        cast(period as varchar) as period,
        cast(kline_interval as varchar) as kline_interval,
        cast(size_bytes as bigint) as size_bytes,
        cast(sha256 as varchar) as sha256,
        cast(checksum_verdict as varchar) as checksum_verdict,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_rejected as bigint) as rows_rejected,
        cast(first_event_time as timestamp) as first_event_at,
        cast(last_event_time as timestamp) as last_event_at,
        cast(status as varchar) as status,
        cast(reason as varchar) as reason,
        output_paths

    from source

)

select * from renamed

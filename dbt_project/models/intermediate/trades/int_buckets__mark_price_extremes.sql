{#- Highest and lowest mark price per symbol and 5-minute bucket, from the mark-price candles of
    var('mark_price_interval') (1m). Binance liquidates on the mark price; the lifecycle uses these
    extremes where a bucket has them and the trade extremes otherwise (int_buckets__timeline).
    Duplicate candles (re-ingested or overlapping files) do not change a max or a min.

    Incremental: a bucket depends on its own candles only, so a run deletes and recomputes the
    buckets from live_notional_rebuild_from() on (the day before the earliest change the ingest
    manifest or the trades report since the table's last load; macros/incremental_days.sql),
    reading only the markPriceKlines lake days from the day before that start (a candle's lake
    day is its open time's). On Spark: a table. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ bucket_number_on_or_after_rebuild_start('bucket_number') }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{%- set rebuild_start = live_notional_rebuild_from() if is_incremental() else 'all' %}
with

candles as (

    select * from {{ ref('stg_binance__mark_price_klines') }}
    where candle_interval = '{{ var("mark_price_interval") }}'
        and mark_high > 0
        and mark_low > 0
        {% if rebuild_start is none %}
        and 1 = 0
        {% elif rebuild_start != 'all' %}
        {%- set start_day = modules.datetime.date.fromisoformat(rebuild_start | string) %}
        and file_date >= cast('{{ (start_day - modules.datetime.timedelta(days=1)).isoformat() }}' as date)
        and opened_at >= cast('{{ start_day.isoformat() }}' as timestamp)
        {% endif %}

),

per_bucket as (

    select
        symbol,
        {{ bucket_number('opened_at', var('bucket_minutes')) }} as bucket_number,
        max(mark_high) as mark_high,
        min(mark_low) as mark_low,
        count(*) as candle_count
    from candles
    group by 1, 2

)

select
    *,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from per_bucket

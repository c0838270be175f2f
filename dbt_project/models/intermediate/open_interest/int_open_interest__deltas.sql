{#-
  Open interest per 5-minute bucket and its change from the bucket before. Duplicate rows (same
  symbol and period) keep one. A gap (the previous row is not the previous bucket) is not a jump:
  no new positions are inferred from a rise across a gap (they opened at unknown times and
  prices), but a fall across a gap still shrinks live levels, so live notional never exceeds
  open interest. Changes are in the base asset, so price moves alone open nothing. Of duplicates
  the latest file's row is kept; the value columns break the remaining ties, so that every
  engine keeps the same row.
  Incremental: a bucket's row depends on its own metrics rows and on the symbol's previous row, so
  a run deletes and recomputes the buckets from live_notional_rebuild_from() on (the day before the
  earliest change the ingest manifest or the trades report since the table's last load;
  macros/incremental_days.sql), reading only the metrics lake days from the day before that start
  (a row's lake day is its create_time's, at most one bucket after its period start), and takes
  each symbol's previous row from the kept rows. On Spark: a table.
-#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ bucket_on_or_after_rebuild_start('bucket_start') }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{%- set rebuild_start = live_notional_rebuild_from() if is_incremental() else 'all' %}
with

metrics as (

    select * from {{ ref('stg_binance__metrics') }}
    where open_interest is not null
        and open_interest >= 0
        {% if rebuild_start is none %}
        and 1 = 0
        {% elif rebuild_start != 'all' %}
        {%- set start_day = modules.datetime.date.fromisoformat(rebuild_start | string) %}
        and file_date >= cast('{{ (start_day - modules.datetime.timedelta(days=1)).isoformat() }}' as date)
        and period_start >= cast('{{ start_day.isoformat() }}' as timestamp)
        {% endif %}

),

numbered as (

    select
        *,
        row_number() over (
            partition by symbol, period_start
            order by file_date desc, create_time desc,
                open_interest desc, open_interest_usdt desc nulls last,
                account_long_short_ratio desc nulls last, top_trader_position_long_short_ratio desc nulls last
        ) as occurrence
    from metrics

),

deduplicated as (

    select
        symbol,
        period_start,
        {{ bucket_number('period_start', var('bucket_minutes')) }} as bucket_number,
        open_interest,
        open_interest_usdt,
        account_long_short_ratio,
        top_trader_position_long_short_ratio
    from numbered
    where occurrence = 1

),

{% if is_incremental() and rebuild_start is not none and rebuild_start != 'all' %}
{#- Each symbol's last kept row, the previous row of its first recomputed one. -#}
kept_last as (

    select symbol, bucket_start, bucket_number, open_interest
    from (
        select
            symbol,
            bucket_start,
            bucket_number,
            open_interest,
            row_number() over (partition by symbol order by bucket_start desc) as recency
        from {{ this }}
        where bucket_start < cast('{{ start_day.isoformat() }}' as timestamp)
    ) as kept
    where recency = 1

),

with_kept as (

    select *, false as is_kept from deduplicated
    union all
    select
        symbol,
        bucket_start as period_start,
        bucket_number,
        open_interest,
        cast(null as double) as open_interest_usdt,
        cast(null as double) as account_long_short_ratio,
        cast(null as double) as top_trader_position_long_short_ratio,
        true as is_kept
    from kept_last

),
{% else %}
with_kept as (

    select *, false as is_kept from deduplicated

),
{% endif %}

with_previous as (

    select
        *,
        lag(bucket_number) over (partition by symbol order by period_start) as previous_bucket_number,
        lag(open_interest) over (partition by symbol order by period_start) as previous_open_interest
    from with_kept

),

deltas as (

    select
        symbol,
        period_start as bucket_start,
        bucket_number,
        open_interest,
        open_interest_usdt,
        previous_open_interest,
        account_long_short_ratio,
        top_trader_position_long_short_ratio,
        previous_bucket_number is not null
            and previous_bucket_number <> bucket_number - 1 as follows_gap,
        case
            when previous_bucket_number = bucket_number - 1
                then open_interest - previous_open_interest
        end as open_interest_change,
        case
            when previous_bucket_number = bucket_number - 1 and open_interest > previous_open_interest
                then open_interest - previous_open_interest
            else 0
        end as opened_quantity,
        case
            when previous_open_interest is null or previous_open_interest <= 0 then 1.0
            when open_interest >= previous_open_interest then 1.0
            else greatest(open_interest / previous_open_interest, 1e-12)
        end as shrink_ratio

    from with_previous
    where not is_kept

)

select
    *,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
from deltas

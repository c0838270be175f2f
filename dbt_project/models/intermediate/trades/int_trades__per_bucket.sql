{{
    config(
        materialized='incremental',
        incremental_strategy=day_incremental_strategy(),
        unique_key='symbol_day',
        partition_by=day_partitions('trade_date'),
        on_schema_change='fail'
    )
}}
{#- 5-minute candles and taker flow; rebuilds only the days int_trades__deduplicated reloaded.
    Quantities and notionals are exact sums (macro exact_sum), equal on every engine and run. -#}
with

trades as (

    {{ trades_of_days_to_rebuild(ref('int_trades__deduplicated')) }}

),

bucketed as (

    select
        *,
        {{ bucket_number('traded_at', var('bucket_minutes')) }} as bucket_number
    from trades

),

per_bucket as (

    select
        symbol,
        bucket_date as trade_date,
        bucket_number,
        {{ bucket_number_to_timestamp('bucket_number', var('bucket_minutes')) }} as bucket_start,
        {{ arg_min('price', 'agg_trade_id') }} as open,
        max(price) as high,
        min(price) as low,
        {{ arg_max('price', 'agg_trade_id') }} as close,
        {{ exact_sum('quantity', 8) }} as quantity,
        {{ exact_sum('notional_usdt', 6) }} as notional,
        {{ exact_sum("case when taker_side = 'buy' then notional_usdt else 0 end", 6) }} as taker_buy_notional,
        {{ exact_sum("case when taker_side = 'sell' then notional_usdt else 0 end", 6) }} as taker_sell_notional,
        count(*) as trade_count,
        symbol || '/' || cast(bucket_date as {{ text_type() }}) as symbol_day,
        max(_loaded_at) as _loaded_at

    from bucketed
    group by symbol, bucket_date, bucket_number

)

select * from per_bucket

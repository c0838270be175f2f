{{
    config(
        materialized='incremental',
        incremental_strategy=day_incremental_strategy(),
        unique_key='symbol_day',
        partition_by=day_partitions('trade_date'),
        on_schema_change='fail'
    )
}}
{#- Traded volume per 5-minute bucket and price bin: where in price the bucket's volume sat. The
    large_* columns count only aggregated trades of at least large_trade_min_notional_usdt (the
    large_trades model places new positions where large takers traded). Quantities and notionals
    are exact sums (macro exact_sum: 1e-8 of the base asset, 1e-6 USDT per trade), so a bin's
    entry price (notional / quantity) is the same on every engine and in every run. -#}
with

trades as (

    {{ trades_of_days_to_rebuild(ref('int_trades__deduplicated')) }}

),

symbols as (

    select * from {{ ref('int_symbols__settings') }}

),

binned as (

    select
        trades.symbol,
        trades.bucket_date as trade_date,
        {{ bucket_number('trades.traded_at', var('bucket_minutes')) }} as bucket_number,
        {{ price_bin('trades.price', 'symbols.price_bin_size') }} as price_bin,
        symbols.price_bin_size,
        trades.quantity,
        trades.notional_usdt,
        trades.taker_side,
        trades._loaded_at

    from trades
    inner join symbols
        on symbols.symbol = trades.symbol

),

per_bucket_price_bin as (

    select
        symbol,
        trade_date,
        bucket_number,
        {{ bucket_number_to_timestamp('bucket_number', var('bucket_minutes')) }} as bucket_start,
        price_bin,
        max(price_bin_size) as price_bin_size,
        {{ exact_sum('quantity', 8) }} as quantity,
        {{ exact_sum('notional_usdt', 6) }} as notional,
        {{ exact_sum("case when taker_side = 'buy' then notional_usdt else 0 end", 6) }} as taker_buy_notional,
        {{ exact_sum("case when taker_side = 'sell' then notional_usdt else 0 end", 6) }} as taker_sell_notional,
        {{ exact_sum("case when notional_usdt >= " ~ var('large_trade_min_notional_usdt')
            ~ " then notional_usdt else 0 end", 6) }} as large_notional,
        {{ exact_sum("case when notional_usdt >= " ~ var('large_trade_min_notional_usdt')
            ~ " and taker_side = 'buy' then notional_usdt else 0 end", 6) }} as large_taker_buy_notional,
        symbol || '/' || cast(trade_date as {{ text_type() }}) as symbol_day,
        max(_loaded_at) as _loaded_at

    from binned
    group by symbol, trade_date, bucket_number, price_bin

)

select * from per_bucket_price_bin

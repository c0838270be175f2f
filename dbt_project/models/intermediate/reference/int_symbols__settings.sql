{#-
  Per-symbol settings: price-bin size (var price_bin_sizes, else about default_price_bin_relative
  x the first trading day's average price rounded down to 1, 2 or 5 x 10^n, so it stays the same
  as days are added) and which margin-bracket table applies (its own, else the documented default,
  flagged). The reference price is an exact sum (macro exact_sum), so the bin size, a cut on it,
  is the same on every engine and run.
-#}
with

candles as (

    select * from {{ ref('int_trades__per_bucket') }}

),

margin_tables as (

    select distinct symbol from {{ ref('margin_tiers') }}

),

first_day as (

    select
        symbol,
        min(trade_date) as first_trade_date,
        max(trade_date) as last_trade_date
    from candles
    group by symbol

),

reference_prices as (

    select
        candles.symbol,
        {{ exact_sum('candles.notional', 6) }} / nullif({{ exact_sum('candles.quantity', 8) }}, 0) as reference_price
    from candles
    inner join first_day
        on first_day.symbol = candles.symbol
        and first_day.first_trade_date = candles.trade_date
    group by candles.symbol

),

sized as (

    select
        first_day.symbol,
        first_day.first_trade_date,
        first_day.last_trade_date,
        reference_prices.reference_price,
        {{ per_symbol_var('price_bin_sizes', 'first_day.symbol') }} as configured_bin_size,
        reference_prices.reference_price * {{ var('default_price_bin_relative') }} as raw_bin_size
    from first_day
    inner join reference_prices
        on reference_prices.symbol = first_day.symbol

),

rounded as (

    select
        *,
        power(10.0, floor(log10(raw_bin_size))) as bin_magnitude
    from sized

),

settings as (

    select
        rounded.symbol,
        coalesce(
            rounded.configured_bin_size,
            case
                when rounded.raw_bin_size / rounded.bin_magnitude >= 5 then 5 * rounded.bin_magnitude
                when rounded.raw_bin_size / rounded.bin_magnitude >= 2 then 2 * rounded.bin_magnitude
                else rounded.bin_magnitude
            end
        ) as price_bin_size,
        rounded.configured_bin_size is not null as has_configured_bin_size,
        {{ var('bucket_minutes') }} as bucket_minutes,
        coalesce(margin_tables.symbol, '{{ var("default_margin_table_symbol") }}') as margin_table_symbol,
        margin_tables.symbol is not null as has_own_margin_table,
        rounded.reference_price,
        rounded.first_trade_date,
        rounded.last_trade_date

    from rounded
    left join margin_tables
        on margin_tables.symbol = rounded.symbol

)

select * from settings

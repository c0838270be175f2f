{#- Traded volume per day x symbol x price bin, in USDT, split by taker side. -#}
with

bins as (

    select * from {{ ref('int_trades__per_bucket_price_bin') }}

),

daily as (

    select
        trade_date,
        symbol,
        price_bin,
        max(price_bin_size) as price_bin_size,
        sum(notional) as total_volume,
        sum(taker_buy_notional) as buy_volume,
        sum(taker_sell_notional) as sell_volume,
        sum(quantity) as total_quantity
    from bins
    group by trade_date, symbol, price_bin

)

select
    trade_date,
    symbol,
    price_bin,
    price_bin_size,
    total_volume,
    buy_volume,
    sell_volume,
    total_quantity
from daily

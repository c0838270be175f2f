{#- Predicted liquidations: levels reached by price, per 5-minute bucket x side x model. The
    notional is the quantity the level still held (after open-interest shrink) at its liquidation
    price; the count is the number of levels (entry bin x leverage x opening bucket) reached. -#}
with

levels as (

    select * from {{ ref('int_levels__variants') }}
    where is_reached

),

history as (

    select
        symbol,
        model,
        reached_at as bucket_start,
        side,
        sum(liquidated_notional) as liquidated_notional,
        sum(liquidated_quantity) as liquidated_quantity,
        count(*) as liquidated_count
    from levels
    group by symbol, model, reached_at, side

)

select
    symbol,
    model,
    bucket_start,
    side,
    liquidated_notional,
    liquidated_quantity,
    liquidated_count
from history

{#-
  New positions per bucket x price bin x side x leverage, for each model variant.

  1. A bucket whose open interest rose by dOI (base asset, not across a gap) opened dOI of new
     positions. It is spread over the bucket's price bins in proportion to the USDT volume traded
     in each bin; the entry price is the bin's volume-weighted average price.
     large_trades spreads it by the volume of large aggregated trades only (at least
     large_trade_min_notional_usdt each, as py-liquidation-map builds its map from large taker
     trades); a bucket without a large trade opens nothing in that model.
  2. The long share of a bin:
       binance_standard - the bin's taker-buy share of volume;
       funding_adjusted - that share with its odds multiplied by the bucket's long odds multiplier
                          (int_open_interest__side_tilt): share*m / (share*m + 1 - share);
       large_trades     - the taker-buy share of the bin's large trades.
  3. Each side's quantity is spread over the model's leverage distribution (seed leverage_weights).
  Buckets with an open-interest rise but no trades open nothing (no prices to place them at).
  The learned_leverage model is not opened here: it reweights binance_standard's levels
  (int_levels__variants).

  Incremental: a bucket's positions depend only on that bucket's trades, open-interest rise and
  tilt, so a run deletes and recomputes the buckets from live_notional_rebuild_from() on (the day
  before the earliest change the ingest manifest or the trades report since the table's last
  load; macros/incremental_days.sql), and keeps the earlier ones. On Spark: a table.
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
{%- set rebuilt = bucket_on_or_after_rebuild_start('bucket_start') if is_incremental() else '(1 = 1)' %}
with

deltas as (

    select * from {{ ref('int_open_interest__deltas') }}
    where opened_quantity > 0 and {{ rebuilt }}

),

tilt as (

    select * from {{ ref('int_open_interest__side_tilt') }}

),

candles as (

    select * from {{ ref('int_trades__per_bucket') }}
    where notional > 0 and {{ rebuilt }}

),

large_per_bucket as (

    select symbol, bucket_number, {{ exact_sum('large_notional', 6) }} as large_notional
    from {{ ref('int_trades__per_bucket_price_bin') }}
    where large_notional > 0 and {{ rebuilt }}
    group by symbol, bucket_number

),

bins as (

    select * from {{ ref('int_trades__per_bucket_price_bin') }}
    where notional > 0 and quantity > 0 and {{ rebuilt }}

),

weights as (

    select * from {{ ref('leverage_weights') }}

),

opened_per_bin as (

    select
        bins.symbol,
        bins.bucket_number,
        bins.bucket_start,
        bins.price_bin,
        bins.price_bin_size,
        bins.notional / bins.quantity as entry_price,
        deltas.opened_quantity * bins.notional / candles.notional as opened_quantity,
        bins.taker_buy_notional / bins.notional as taker_buy_share,
        deltas.opened_quantity * bins.large_notional / large_per_bucket.large_notional
            as large_opened_quantity,
        case when bins.large_notional > 0
            then bins.large_taker_buy_notional / bins.large_notional end as large_taker_buy_share,
        coalesce(tilt.long_odds_multiplier, 1.0) as long_odds_multiplier

    from bins
    inner join candles
        on candles.symbol = bins.symbol
        and candles.bucket_number = bins.bucket_number
    inner join deltas
        on deltas.symbol = bins.symbol
        and deltas.bucket_number = bins.bucket_number
    left join tilt
        on tilt.symbol = bins.symbol
        and tilt.bucket_number = bins.bucket_number
    left join large_per_bucket
        on large_per_bucket.symbol = bins.symbol
        and large_per_bucket.bucket_number = bins.bucket_number

),

models as (

    select distinct model from weights

),

long_shares as (

    select
        opened_per_bin.*,
        models.model,
        case
            when models.model = 'large_trades' then coalesce(large_opened_quantity, 0)
            else opened_quantity
        end as model_opened_quantity,
        case
            when models.model = 'funding_adjusted'
                then taker_buy_share * long_odds_multiplier
                    / (taker_buy_share * long_odds_multiplier + 1 - taker_buy_share)
            when models.model = 'large_trades' then coalesce(large_taker_buy_share, 0)
            else taker_buy_share
        end as long_share
    from opened_per_bin
    cross join models

),

sides as (

    select *, 'long' as side, long_share as side_share from long_shares
    union all
    select *, 'short' as side, 1 - long_share as side_share from long_shares

),

positions as (

    select
        sides.symbol,
        sides.model,
        sides.bucket_number,
        sides.bucket_start,
        sides.price_bin,
        sides.price_bin_size,
        sides.side,
        weights.leverage,
        sides.entry_price,
        sides.model_opened_quantity * sides.side_share * weights.weight as opened_quantity,
        sides.model_opened_quantity * sides.side_share * weights.weight * sides.entry_price
            as opened_notional,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at

    from sides
    inner join weights
        on weights.model = sides.model
    where sides.side_share > 0
        and sides.model_opened_quantity > 0

)

select * from positions

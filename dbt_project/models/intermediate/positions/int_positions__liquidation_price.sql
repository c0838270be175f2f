{#-
  Liquidation price of each opened position (Binance USD-M, isolated margin, one-way mode):

      LP = (WB + cum - s*Q*EP) / (Q*(MMR - s))          (macro liquidation_price)

  Every position is priced as a representative single position of
  var('representative_position_notional_usdt') USDT at entry: Q = that notional / EP and
  WB = Q*EP/leverage (opened at that leverage, nothing added). The bracket is the self-consistent
  one: LP is computed under every bracket of the symbol's table in force on the bucket's date, and
  the first bracket whose [floor, cap) holds the notional at the liquidation price, Q*LP, is kept
  (the last bracket has no cap). No positive self-consistent LP (for example a 1x long) means the
  position cannot be liquidated: liquidation_price is null.

  Incremental like int_positions__opened: the buckets from live_notional_rebuild_from() on are
  deleted and priced again (a position's price depends on its own bucket only). On Spark: a table.
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
with

positions as (

    select * from {{ ref('int_positions__opened') }}
    {% if is_incremental() %}
    where {{ bucket_on_or_after_rebuild_start('bucket_start') }}
    {% endif %}

),

symbols as (

    select * from {{ ref('int_symbols__settings') }}

),

tiers as (

    select * from {{ ref('int_margin_tiers__dated') }}

),

sized as (

    select
        positions.*,
        cast({{ var('representative_position_notional_usdt') }} as double)
            / positions.entry_price as position_quantity,
        cast({{ var('representative_position_notional_usdt') }} as double)
            / positions.leverage as isolated_margin,
        symbols.margin_table_symbol

    from positions
    inner join symbols
        on symbols.symbol = positions.symbol

),

{#- Every position has the same notional N at entry, and Q*LP = (N/L + cum - s*N) / (MMR - s)
    does not depend on the entry price. So the bracket is chosen once per (table, side, leverage),
    with the same macro evaluated for EP = 1 and Q = N (a position of N units at price 1). #}
combinations as (

    select distinct
        tiers.symbol as margin_table_symbol,
        tiers.table_version,
        sized.side,
        sized.leverage
    from sized
    inner join tiers
        on tiers.symbol = sized.margin_table_symbol
        and cast(sized.bucket_start as date) >= tiers.valid_from
        and (cast(sized.bucket_start as date) < tiers.valid_to or tiers.valid_to is null)
        and tiers.bracket = 1

),

per_bracket as (

    select
        combinations.margin_table_symbol,
        combinations.table_version,
        combinations.side,
        combinations.leverage,
        tiers.bracket,
        tiers.notional_floor,
        tiers.notional_cap,
        tiers.is_last_bracket,
        cast({{ var('representative_position_notional_usdt') }} as double)
        * {{ liquidation_price(
            'combinations.side', '1.0',
            'cast(' ~ var('representative_position_notional_usdt') ~ ' as double)',
            'cast(' ~ var('representative_position_notional_usdt') ~ ' as double) / combinations.leverage',
            'tiers.maint_margin_ratio', 'tiers.maint_amount'
        ) }} as notional_at_liquidation
    from combinations
    inner join tiers
        on tiers.symbol = combinations.margin_table_symbol
        and tiers.table_version = combinations.table_version

),

self_consistent as (

    select
        margin_table_symbol,
        table_version,
        side,
        leverage,
        min(bracket) as bracket
    from per_bracket
    where notional_at_liquidation > 0
        and notional_at_liquidation >= notional_floor
        and (notional_at_liquidation < notional_cap or is_last_bracket)
    group by margin_table_symbol, table_version, side, leverage

),

chosen as (

    select
        sized.*,
        tiers.table_version,
        self_consistent.bracket,
        tiers.maint_margin_ratio,
        tiers.maint_amount
    from sized
    inner join {{ ref('int_margin_tiers__dated') }} as table_in_force
        on table_in_force.symbol = sized.margin_table_symbol
        and cast(sized.bucket_start as date) >= table_in_force.valid_from
        and (cast(sized.bucket_start as date) < table_in_force.valid_to or table_in_force.valid_to is null)
        and table_in_force.bracket = 1
    left join self_consistent
        on self_consistent.margin_table_symbol = sized.margin_table_symbol
        and self_consistent.table_version = table_in_force.table_version
        and self_consistent.side = sized.side
        and self_consistent.leverage = sized.leverage
    left join tiers
        on tiers.symbol = sized.margin_table_symbol
        and tiers.table_version = table_in_force.table_version
        and tiers.bracket = self_consistent.bracket

),

priced as (

    select
        symbol,
        model,
        bucket_number,
        bucket_start,
        price_bin,
        price_bin_size,
        side,
        leverage,
        entry_price,
        opened_quantity,
        opened_notional,
        position_quantity,
        isolated_margin,
        table_version,
        bracket,
        maint_margin_ratio,
        maint_amount,
        case when bracket is not null then
            {{ liquidation_price('side', 'entry_price', 'position_quantity', 'isolated_margin',
                                 'maint_margin_ratio', 'maint_amount') }}
        end as liquidation_price,
        bracket is not null as is_liquidatable,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at

    from chosen

),

binned as (

    select
        *,
        {{ price_bin('liquidation_price', 'price_bin_size') }} as liquidation_price_bin
    from priced

)

select * from binned

{#- Binance's dated margin-bracket tables (seed margin_tiers), with their validity range. -#}
select
    symbol,
    table_version,
    valid_from,
    valid_to,
    bracket,
    notional_floor,
    notional_cap,
    max_leverage,
    maint_margin_ratio,
    maint_amount,
    is_last_bracket,
    is_default_table
from {{ ref('int_margin_tiers__dated') }}

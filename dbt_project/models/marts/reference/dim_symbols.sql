{#- One row per traded symbol: its model settings and whether it borrows the default bracket table. -#}
select
    symbol,
    price_bin_size,
    has_configured_bin_size,
    bucket_minutes,
    margin_table_symbol,
    has_own_margin_table,
    not has_own_margin_table as uses_default_margin_table,
    reference_price,
    first_trade_date,
    last_trade_date
from {{ ref('int_symbols__settings') }}

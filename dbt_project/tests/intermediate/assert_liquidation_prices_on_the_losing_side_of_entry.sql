-- A long is liquidated below its entry price and a short above it.
select *
from {{ ref('int_positions__liquidation_price') }}
where is_liquidatable
    and ((side = 'long' and liquidation_price >= entry_price)
        or (side = 'short' and liquidation_price <= entry_price))

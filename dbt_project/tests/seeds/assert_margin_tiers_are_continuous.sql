-- Bracket tables are continuous: each floor is the previous cap, and maintenance amounts follow
-- cum_n = cum_(n-1) + floor_n x (MMR_n - MMR_(n-1)), so maintenance margin has no jump at an edge.
with ordered as (
    select
        *,
        lag(notional_cap) over (partition by symbol, table_version order by bracket) as previous_cap,
        lag(maint_margin_ratio) over (partition by symbol, table_version order by bracket) as previous_mmr,
        lag(maint_amount) over (partition by symbol, table_version order by bracket) as previous_cum
    from {{ ref('margin_tiers') }}
)
select *
from ordered
where (bracket = 1 and (notional_floor <> 0 or maint_amount <> 0))
    or (previous_cap is not null and notional_floor <> previous_cap)
    or (previous_cum is not null
        and abs(maint_amount - (previous_cum + notional_floor * (maint_margin_ratio - previous_mmr))) > 1e-6)

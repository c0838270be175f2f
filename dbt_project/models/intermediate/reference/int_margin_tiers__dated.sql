{#- Bracket tables with their validity range: a table holds from its valid_from until the next
    table of the same symbol starts (valid_to exclusive, null for the newest). -#}
with

tiers as (

    select * from {{ ref('margin_tiers') }}

),

tables as (

    select distinct
        symbol,
        table_version,
        valid_from
    from tiers

),

dated_tables as (

    select
        symbol,
        table_version,
        valid_from,
        lead(valid_from) over (partition by symbol order by valid_from) as valid_to
    from tables

),

dated as (

    select
        tiers.symbol,
        tiers.table_version,
        tiers.valid_from,
        dated_tables.valid_to,
        tiers.bracket,
        tiers.notional_floor,
        tiers.notional_cap,
        tiers.max_leverage,
        tiers.maint_margin_ratio,
        tiers.maint_amount,
        tiers.bracket = max(tiers.bracket) over (partition by tiers.symbol, tiers.table_version)
            as is_last_bracket,
        tiers.symbol = '{{ var("default_margin_table_symbol") }}' as is_default_table

    from tiers
    inner join dated_tables
        on dated_tables.symbol = tiers.symbol
        and dated_tables.table_version = tiers.table_version

)

select * from dated

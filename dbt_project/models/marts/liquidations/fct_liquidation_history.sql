{#- Predicted liquidations: levels reached by price, per 5-minute bucket x side x model. The
    notional is the quantity the level still held (after open-interest shrink) at its liquidation
    price; the count is the number of levels (entry bin x leverage x opening bucket) reached.

    Incremental (a table on Spark): int_levels__variants changes no level reached before the
    rebuild start S (levels_rebuild_from()), so the buckets before S are settled; a run deletes the
    buckets from S on and writes them again from the levels reached from S on. The levels' reach
    column is all the run scans of the year of levels, not their rows. -#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{% set start = levels_rebuild_from() %}delete from {{ this }} where {% if start == 'all' %}1 = 1{% elif start is none %}1 = 0{% else %}bucket_start >= cast('{{ start }}' as timestamp){% endif %}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{% if target.type != 'spark' %}-- depends_on: {{ ref('int_leverage__learned') }}{% endif %}
{%- set rebuild_start = levels_rebuild_from() if is_incremental() else 'all' %}
with

levels as (

    select * from {{ ref('int_levels__variants') }}
    where is_reached
    {% if rebuild_start is none %}
        and 1 = 0
    {% elif rebuild_start != 'all' %}
        and reached_at >= cast('{{ rebuild_start }}' as timestamp)
    {% endif %}

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
    liquidated_count,
    {{ node_loaded_at() }} as _loaded_at
from history

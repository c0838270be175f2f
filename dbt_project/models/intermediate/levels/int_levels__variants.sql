{#-
  Every model's levels, as the marts read them: the levels of the models opened in
  int_positions__opened (int_levels__with_lifecycle), plus the learned_leverage model's.

  learned_leverage is its base model's levels (var learned_leverage_base_model) reweighted per
  symbol and leverage tier by the weights int_leverage__learned fitted walk-forward, and cut into
  lifetime pieces. A level opened at t takes the parameters in force at t: those of the latest
  evaluation window whose train span ended at or before t (effective_from <= t), window 0 (the seed
  prior) before the first; so no truth after t reaches a level opened at t, and a new window
  changes only levels opened after its train span, never a past bucket's map. Each piece: piece k carries level_factor x the base level's quantity and closes by
  itself lifetime_buckets after its opening bucket (null: it lives until reached). A piece reached
  before it closes is liquidated as the base level is; one that closes first is never liquidated.
  Quantities scale linearly (the lifecycle's reach does not depend on them), so reweighting the
  base levels is the same as opening the learned mix.

  closed_at / closed_bucket_number: the bucket from which the level no longer counts as live
  (reached, shrunk below level_close_fraction as int_levels__with_lifecycle closes it, or, for a
  piece, closed by its lifetime: the earliest); null while it lives.

  On Spark (no dbt Python models outside Databricks) the fit does not run, so learned_leverage is
  left out there and only the opened models' levels are here.

  Incremental (a table on Spark): from the rebuild start S (levels_rebuild_from(): the lifecycle's,
  or the earliest effective_from of learned windows fitted since the last load). A level opened
  before S and reached or closed before S is settled, and so are its pieces (a piece closing by
  itself before S closes first whatever the reach after S). A run deletes the levels opened from S
  on and writes again those the lifecycle holds now, and replaces (by key: a level's rows, every
  piece) the levels opened before S that were reached or closed from S on, before this run (the
  rows here) or now (the lifecycle's): so the work follows the levels the new data opened, reached
  or closed, not the history, and a level opened long ago and crossed after S ends there.
-#}
{%- set learned_enabled = target.type != 'spark' %}
{%- set level_key = ['symbol', 'model', 'side', 'leverage', 'opened_bucket_number', 'entry_price_bin'] -%}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='delete+insert',
        unique_key=level_key,
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{% set start = levels_rebuild_from() %}delete from {{ this }} where {% if start == 'all' %}1 = 1{% elif start is none %}1 = 0{% else %}opened_at >= cast('{{ start }}' as timestamp){% endif %}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{%- set rebuild_start = levels_rebuild_from() if is_incremental() else 'all' %}
with

levels as (

    select * from {{ ref('int_levels__with_lifecycle') }}
    {% if rebuild_start is none %}
    where 1 = 0
    {% elif rebuild_start != 'all' %}
    where opened_at >= cast('{{ rebuild_start }}' as timestamp)

    {#- Two selects, not one `or`: each condition is pushed into the table scan, which then reads
        only the matching rows' columns (with the `or`, every column of every settled level). #}
    union all

    select * from {{ ref('int_levels__with_lifecycle') }}
    where opened_at < cast('{{ rebuild_start }}' as timestamp)
        and closed_at >= cast('{{ rebuild_start }}' as timestamp)

    union

    {#- Reached or closed from S on before this run, and no longer (a corrected day): written again. #}
    select lifecycle.*
    from {{ ref('int_levels__with_lifecycle') }} as lifecycle
    inner join (
        select symbol, model, side, leverage, opened_bucket_number, entry_price_bin
        from {{ this }}
        where closed_at >= cast('{{ rebuild_start }}' as timestamp)
            and opened_at < cast('{{ rebuild_start }}' as timestamp)
    ) as stored
        on stored.model = lifecycle.model
        and stored.symbol = lifecycle.symbol
        and stored.side = lifecycle.side
        and stored.leverage = lifecycle.leverage
        and stored.opened_bucket_number = lifecycle.opened_bucket_number
        and stored.entry_price_bin = lifecycle.entry_price_bin
    where lifecycle.closed_at is null
    {% endif %}

),

{% if learned_enabled %}
learned_rows as (

    select * from {{ ref('int_leverage__learned') }}

),

{#- Each window's parameters are in force from its effective_from (window 0: always) until the
    next window's. #}
in_force as (

    select
        symbol,
        window_id,
        coalesce(effective_from, cast('-infinity' as timestamp)) as in_force_from,
        coalesce(
            lead(effective_from) over (partition by symbol order by window_id),
            cast('infinity' as timestamp)
        ) as in_force_to
    from (select distinct symbol, window_id, effective_from from learned_rows) as windows

),

learned as (

    select learned_rows.*, in_force.in_force_from, in_force.in_force_to
    from learned_rows
    inner join in_force
        on in_force.symbol = learned_rows.symbol
        and in_force.window_id = learned_rows.window_id

),
{% endif %}

opened_models as (

    select
        {{ star_except('levels', ['_loaded_at']) }},
        {{ node_loaded_at() }} as _loaded_at
    from levels

),

{% if learned_enabled %}
pieces as (

    select
        levels.*,
        learned.model as learned_model,
        learned.level_factor,
        learned.lifetime_buckets,
        learned.lifetime_buckets is not null
            and (not levels.is_reached
                or levels.reached_bucket_number >= levels.opened_bucket_number + learned.lifetime_buckets)
            as closes_first
    from levels
    inner join learned
        on learned.symbol = levels.symbol
        and learned.base_model = levels.model
        and learned.leverage = levels.leverage
        and levels.opened_at >= learned.in_force_from
        and levels.opened_at < learned.in_force_to
    where learned.level_factor > 0

),

learned_models as (

    select
        symbol,
        learned_model as model,
        side,
        leverage,
        opened_at,
        opened_bucket_number,
        opened_bucket_index,
        entry_price_bin,
        price_bin_size,
        entry_price,
        liquidation_price,
        liquidation_price_bin,
        opened_quantity * level_factor as opened_quantity,
        opened_notional * level_factor as opened_notional,
        opened_cum_log_shrink,
        case when not closes_first then reached_at end as reached_at,
        case when not closes_first then reached_bucket_number end as reached_bucket_number,
        case when not closes_first then reached_bucket_index end as reached_bucket_index,
        is_reached and not closes_first as is_reached,
        case when not closes_first then liquidated_quantity * level_factor else 0 end as liquidated_quantity,
        case when not closes_first then liquidated_notional * level_factor else 0 end as liquidated_notional,
        case
            when closes_first then {{ bucket_number_to_timestamp('least(opened_bucket_number + lifetime_buckets, coalesce(closed_bucket_number, opened_bucket_number + lifetime_buckets))', var('bucket_minutes')) }}
            else closed_at
        end as closed_at,
        case
            when closes_first then least(
                opened_bucket_number + lifetime_buckets,
                coalesce(closed_bucket_number, opened_bucket_number + lifetime_buckets)
            )
            else closed_bucket_number
        end as closed_bucket_number,
        {{ node_loaded_at() }} as _loaded_at
    from pieces

),
{% endif %}

all_models as (

    select * from opened_models
    {% if learned_enabled %}
    union all
    select * from learned_models
    {% endif %}

)

select * from all_models

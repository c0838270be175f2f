{#-
  Live quantity per (symbol, model, side, liquidation-price bin) as a step function of time.

  A level adds w = opened_quantity x exp(-L(t0)) at its opening bucket and removes it at the
  bucket it is reached or closes by itself (closed_bucket_number, int_levels__variants); the running sum W(t) of these steps per bin, times exp(L(t)), is the bin's
  live quantity at t (every live level shrinks by the same factor, so the factor comes out of the
  sum). Each row is an interval [from, to) of buckets over which W is constant; to is null for
  the last, still open interval. Every addition and removal is at or below the current scale of
  W, so the running sum does not lose precision as history grows.

  An interval is kept while a level of the bin is live (an integer count of openings minus
  closings, live_levels), not while W > 0: when the last level of a bin goes, W is a float sum that
  cancels to a residue of about 1e-18 whose sign depends on the order the engine added the steps
  in, so the test W > 0 kept or dropped the interval differently on DuckDB and Spark, and from run
  to run.

  Incremental (a table on Spark): int_levels__variants changes no step before the rebuild start S
  (levels_rebuild_from(); bucket B), so the intervals starting before B keep their W and count. A
  run deletes the intervals from B on, and continues each bin's running sums from the interval
  open at B (its W and live_levels, read back here: the state that crosses the boundary) over the
  steps from B on: the openings and closings of the levels opened or closed from B on. That
  interval is written again with its new end. A bin with no level live at B starts again from 0
  (a full build carries the ~1e-18 residue instead).
-#}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='delete+insert',
        unique_key=['symbol', 'model', 'side', 'price_bin', 'from_bucket_number'],
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}{% set start = levels_rebuild_from() %}delete from {{ this }} where {% if start == 'all' %}1 = 1{% elif start is none %}1 = 0{% else %}from_bucket_number >= {{ rebuild_start_bucket(start) }}{% endif %}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{% if target.type != 'spark' %}-- depends_on: {{ ref('int_leverage__learned') }}{% endif %}
{%- set rebuild_start = levels_rebuild_from() if is_incremental() else 'all' %}
{%- set incremental_run = rebuild_start is not none and rebuild_start != 'all' %}
with

levels as (

    select * from {{ ref('int_levels__variants') }}
    {% if rebuild_start is none %}
    where 1 = 0
    {% elif incremental_run %}
    where opened_bucket_number >= {{ rebuild_start_bucket(rebuild_start) }}

    {#- Two selects, not one `or`, so that each condition is pushed into the scan. #}
    union all

    select * from {{ ref('int_levels__variants') }}
    where opened_bucket_number < {{ rebuild_start_bucket(rebuild_start) }}
        and closed_bucket_number >= {{ rebuild_start_bucket(rebuild_start) }}
    {% endif %}

),

steps as (

    select
        symbol,
        model,
        side,
        liquidation_price_bin as price_bin,
        opened_bucket_number as bucket_number,
        opened_quantity * exp(-opened_cum_log_shrink) as weight_change,
        1 as level_change
    from levels
    {% if incremental_run %}
    where opened_bucket_number >= {{ rebuild_start_bucket(rebuild_start) }}
    {% endif %}

    union all

    select
        symbol,
        model,
        side,
        liquidation_price_bin as price_bin,
        closed_bucket_number as bucket_number,
        -opened_quantity * exp(-opened_cum_log_shrink) as weight_change,
        -1 as level_change
    from levels
    where closed_bucket_number is not null
    {% if incremental_run %}
        and closed_bucket_number >= {{ rebuild_start_bucket(rebuild_start) }}
    {% endif %}

),

per_bucket as (

    select
        symbol,
        model,
        side,
        price_bin,
        bucket_number,
        sum(weight_change) as weight_change,
        sum(level_change) as level_change
    from steps
    group by symbol, model, side, price_bin, bucket_number

    {% if incremental_run %}
    union all

    {#- The interval open at B: its start, W and live count seed the running sums. #}
    select
        symbol,
        model,
        side,
        price_bin,
        from_bucket_number as bucket_number,
        normalized_quantity as weight_change,
        live_levels as level_change
    from {{ this }}
    where from_bucket_number < {{ rebuild_start_bucket(rebuild_start) }}
        and (to_bucket_number is null or to_bucket_number >= {{ rebuild_start_bucket(rebuild_start) }})
    {% endif %}

),

intervals as (

    select
        symbol,
        model,
        side,
        price_bin,
        bucket_number as from_bucket_number,
        lead(bucket_number) over (
            partition by symbol, model, side, price_bin order by bucket_number
        ) as to_bucket_number,
        sum(weight_change) over (
            partition by symbol, model, side, price_bin order by bucket_number
            rows between unbounded preceding and current row
        ) as normalized_quantity,
        sum(level_change) over (
            partition by symbol, model, side, price_bin order by bucket_number
            rows between unbounded preceding and current row
        ) as live_levels
    from per_bucket

)

select
    symbol,
    model,
    side,
    price_bin,
    from_bucket_number,
    to_bucket_number,
    normalized_quantity,
    cast(live_levels as bigint) as live_levels,
    {{ node_loaded_at() }} as _loaded_at
from intervals
where live_levels > 0

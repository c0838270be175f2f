{#-
  When each liquidatable position (a level) was reached by price, and how much of it was left.

  Reached: the first bucket AFTER its opening bucket whose low <= LP (long) or high >= LP
  (short). Found by binary lifting over int_buckets__price_extremes: start at the next bucket and,
  for k from lifecycle_max_log2_buckets down to 0, skip the 2^k buckets ahead when none of them
  crosses LP. About 21 equi-joins per level, so the cost grows with levels x log(buckets),
  not levels x buckets. Unreached levels have null reached_* columns.

  Shrink: open-interest decreases close all live levels of the symbol in proportion, so a level
  holds opened_quantity x exp(L(t) - L(t0)) at bucket t (L = cum_log_shrink of the timeline).
  The quantity liquidated is what it held at the end of the bucket before it was reached.

  Closed: a level is closed from the first bucket after its opening at which the shrink leaves it
  below var level_close_fraction (eps) of its opened quantity, L(t) - L(t0) < ln(eps): what is left
  then is noise (at a year, most unreached levels hold less than 1e-6), and an open level costs
  every later run. L is non-increasing (shrink ratios are at most 1), so that bucket is found by
  binary lifting over the timeline as the reach is, once per distinct opening bucket (it does not
  depend on the level's price or size). A level reached before its closing bucket is reached as
  without eps; one reached in it or later is closed, never liquidated (in its closing bucket it
  already holds less than eps before the bucket's prices). closed_at / closed_bucket_number: the
  first bucket in which the level no longer counts as live (reached or closed), null while live.
  eps = 0 closes nothing (closed = reached).

  Incremental: a level reached or closed before the rebuild start (live_notional_rebuild_from(),
  the day before the earliest change since the table's last load) is settled: its reach, closing
  and quantity depend only on the buckets up to them, which did not change. A run recomputes the
  levels opened from the rebuild start on (deleted first: a corrected day may open other levels) and
  the levels still open, live or reached or closed from the rebuild start on (read back from this table,
  searched again and replaced by their key), so the work follows the new data and the open levels,
  not the history. On Spark: a table.
-#}
{%- set max_k = var('lifecycle_max_log2_buckets') -%}
{%- set close_fraction = var('level_close_fraction') | float -%}
{%- if close_fraction < 0 or close_fraction >= 1 -%}
  {{ exceptions.raise_compiler_error("var level_close_fraction must be in [0, 1) (0 closes nothing); got " ~ var('level_close_fraction')) }}
{%- endif -%}
{%- set level_key = ['symbol', 'model', 'side', 'leverage', 'opened_bucket_number', 'entry_price_bin'] -%}
{{
    config(
        materialized='table' if target.type == 'spark' else 'incremental',
        incremental_strategy='delete+insert',
        unique_key=level_key,
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ bucket_on_or_after_rebuild_start('opened_at') }}{% endif %}"
    )
}}
-- depends_on: {{ ref('stg_ingest__manifest') }}
-- depends_on: {{ ref('int_trades__per_bucket') }}
{%- set rebuild_start = live_notional_rebuild_from() if is_incremental() else 'all' %}
with

positions as (

    select
        symbol, model, side, leverage, bucket_start, bucket_number, price_bin, price_bin_size,
        entry_price, liquidation_price, liquidation_price_bin, opened_quantity, opened_notional
    from {{ ref('int_positions__liquidation_price') }}
    where is_liquidatable
    {% if rebuild_start is none %}
        and 1 = 0
    {% elif rebuild_start != 'all' %}
        and bucket_start >= cast('{{ rebuild_start }}' as timestamp)

    union all

    {#- Levels opened before the rebuild start and not settled before it: live, or closed from it
        on (two selects, each condition pushed into the scan, where an `or` would read every
        settled level's columns). #}
    {% for settled_after in ['closed_at is null', "closed_at >= cast('" ~ rebuild_start ~ "' as timestamp)"] %}
    select
        symbol, model, side, leverage, opened_at as bucket_start, opened_bucket_number as bucket_number,
        entry_price_bin as price_bin, price_bin_size, entry_price, liquidation_price,
        liquidation_price_bin, opened_quantity, opened_notional
    from {{ this }}
    where opened_at < cast('{{ rebuild_start }}' as timestamp)
        and {{ settled_after }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% endif %}

),

timeline as (

    select * from {{ ref('int_buckets__timeline') }}

),

{#- The searches start after the earliest opening searched: the sparse table before it is not
    read (a literal, so the scan skips it; the open levels span the last weeks, not the history). #}
{%- set first_index = none %}
{%- if execute and rebuild_start is not none and rebuild_start != 'all' %}
  {%- set first_index = scalar_query(
      "select min(opened_bucket_index) from " ~ this ~ " where opened_at < cast('" ~ rebuild_start
      ~ "' as timestamp) and (closed_at is null or closed_at >= cast('" ~ rebuild_start ~ "' as timestamp))") %}
{%- endif %}
extremes as (

    select * from {{ ref('int_buckets__price_extremes') }}
    {% if first_index is not none %}
    where bucket_index > {{ first_index | int }}
    {% endif %}

),

{#- The lifecycle does not depend on the model variant (only the quantities do), so it is
    searched once per distinct level. #}
levels as (

    select distinct
        positions.symbol,
        positions.bucket_number,
        positions.side,
        positions.liquidation_price,
        timeline.bucket_index as opened_bucket_index
    from positions
    inner join timeline
        on timeline.symbol = positions.symbol
        and timeline.bucket_number = positions.bucket_number

),

search_{{ max_k + 1 }} as (

    select
        levels.*,
        levels.opened_bucket_index + 1 as search_index
    from levels

),

{% for k in range(max_k, -1, -1) %}
search_{{ k }} as (

    select
        previous.symbol,
        previous.bucket_number,
        previous.side,
        previous.liquidation_price,
        previous.opened_bucket_index,
        case
            when previous.side = 'long' and extremes.min_low > previous.liquidation_price
                then previous.search_index + {{ 2 ** k }}
            when previous.side = 'short' and extremes.max_high < previous.liquidation_price
                then previous.search_index + {{ 2 ** k }}
            else previous.search_index
        end as search_index
    from search_{{ k + 1 }} as previous
    left join extremes
        on extremes.symbol = previous.symbol
        and extremes.bucket_index = previous.search_index
        and extremes.span_log2 = {{ k }}

),

{% endfor %}

{% if close_fraction > 0 %}
{#- The closing bucket per distinct opening bucket: the first later index j with
    L(j) < L(t0) + ln(eps). Invariant: every index in [opened + 1, search_index) holds at least eps;
    2^k indices are skipped when the last of them still does (L is non-increasing), or, past the
    timeline's end, when its last bucket does. #}
openings as (

    select distinct
        levels.symbol,
        levels.opened_bucket_index,
        timeline.cum_log_shrink + ln({{ close_fraction }}) as close_below
    from levels
    inner join timeline
        on timeline.symbol = levels.symbol
        and timeline.bucket_index = levels.opened_bucket_index

),

last_buckets as (

    select symbol, min(cum_log_shrink) as last_cum_log_shrink
    from timeline
    group by symbol

),

closing_{{ max_k + 1 }} as (

    select
        openings.*,
        last_buckets.last_cum_log_shrink,
        openings.opened_bucket_index + 1 as search_index
    from openings
    inner join last_buckets
        on last_buckets.symbol = openings.symbol

),

{% for k in range(max_k, -1, -1) %}
closing_{{ k }} as (

    select
        previous.symbol,
        previous.opened_bucket_index,
        previous.close_below,
        previous.last_cum_log_shrink,
        case
            when coalesce(timeline.cum_log_shrink, previous.last_cum_log_shrink) >= previous.close_below
                then previous.search_index + {{ 2 ** k }}
            else previous.search_index
        end as search_index
    from closing_{{ k + 1 }} as previous
    left join timeline
        on timeline.symbol = previous.symbol
        and timeline.bucket_index = previous.search_index + {{ 2 ** k - 1 }}

),

{% endfor %}

closings as (

    select
        closing_0.symbol,
        closing_0.opened_bucket_index,
        timeline.bucket_index as closing_bucket_index,
        timeline.bucket_number as closing_bucket_number,
        timeline.bucket_start as closing_at
    from closing_0
    inner join timeline
        on timeline.symbol = closing_0.symbol
        and timeline.bucket_index = closing_0.search_index

),
{% endif %}

reached as (

    select
        search_0.symbol,
        search_0.bucket_number,
        search_0.side,
        search_0.liquidation_price,
        timeline.bucket_index as reached_bucket_index,
        timeline.bucket_number as reached_bucket_number,
        timeline.bucket_start as reached_at
    from search_0
    inner join timeline
        on timeline.symbol = search_0.symbol
        and timeline.bucket_index = search_0.search_index

),

searched as (

    select
        positions.symbol,
        positions.model,
        positions.side,
        positions.leverage,
        positions.bucket_start as opened_at,
        positions.bucket_number as opened_bucket_number,
        opened.bucket_index as opened_bucket_index,
        positions.price_bin as entry_price_bin,
        positions.price_bin_size,
        positions.entry_price,
        positions.liquidation_price,
        positions.liquidation_price_bin,
        positions.opened_quantity,
        positions.opened_notional,
        opened.cum_log_shrink as opened_cum_log_shrink,
        reached.reached_at as found_reached_at,
        reached.reached_bucket_number as found_reached_bucket_number,
        reached.reached_bucket_index as found_reached_bucket_index,
        {% if close_fraction > 0 %}
        closings.closing_at,
        closings.closing_bucket_number,
        reached.reached_at is not null
            and (closings.closing_bucket_index is null
                or reached.reached_bucket_index < closings.closing_bucket_index) as is_reached,
        {% else %}
        cast(null as timestamp) as closing_at,
        cast(null as bigint) as closing_bucket_number,
        reached.reached_at is not null as is_reached,
        {% endif %}
        positions.opened_quantity
            * exp(before_reach.cum_log_shrink - opened.cum_log_shrink) as found_liquidated_quantity

    from positions
    inner join timeline as opened
        on opened.symbol = positions.symbol
        and opened.bucket_number = positions.bucket_number
    left join reached
        on reached.symbol = positions.symbol
        and reached.bucket_number = positions.bucket_number
        and reached.side = positions.side
        and reached.liquidation_price = positions.liquidation_price
    left join timeline as before_reach
        on before_reach.symbol = positions.symbol
        and before_reach.bucket_index = reached.reached_bucket_index - 1
    {% if close_fraction > 0 %}
    left join closings
        on closings.symbol = positions.symbol
        and closings.opened_bucket_index = opened.bucket_index
    {% endif %}

),

lifecycle as (

    select
        symbol,
        model,
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
        opened_quantity,
        opened_notional,
        opened_cum_log_shrink,
        case when is_reached then found_reached_at end as reached_at,
        case when is_reached then found_reached_bucket_number end as reached_bucket_number,
        case when is_reached then found_reached_bucket_index end as reached_bucket_index,
        is_reached,
        case when is_reached then found_liquidated_quantity end as liquidated_quantity,
        case when is_reached then found_liquidated_quantity * liquidation_price end as liquidated_notional,
        case when is_reached then found_reached_at else closing_at end as closed_at,
        case when is_reached then found_reached_bucket_number else closing_bucket_number end
            as closed_bucket_number,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as _loaded_at
    from searched

)

select * from lifecycle

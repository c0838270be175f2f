{#-
  The levels' chain after the lifecycle (int_levels__variants, int_heatmap__state_intervals,
  fct_liquidation_heatmap) is incremental from a rebuild start, as the lifecycle is
  (live_notional_rebuild_from in incremental_days.sql): what happened before it is settled.

  Their _loaded_at is the time the model's SQL was compiled (this node's start), not the build's
  start: int_leverage__learned (a Python model) stamps its rows when it runs, within the same
  build, and a later build must not take those rows for new ones.
-#}

{#- _loaded_at of a row written now (UTC). -#}
{% macro node_loaded_at() -%}
  cast('{{ modules.datetime.datetime.now(modules.pytz.utc).strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#-
  Where such a model rebuilds from, as a 'YYYY-MM-DD HH:MM:SS' string: live_notional_rebuild_from(),
  or earlier when int_leverage__learned fitted windows since `this`'s last load: the earliest
  effective_from among them (the levels opened from then on take the new parameters, and the
  window before a new one is in force only until its effective_from). 'all' when everything is
  recomputed (live_notional_rebuild_from says so, or the prior, window 0, was fitted again), none
  when nothing changed.
-#}
{% macro levels_rebuild_from() %}
  {%- set start = live_notional_rebuild_from() -%}
  {%- if start == 'all' -%}
    {{ return('all') }}
  {%- endif -%}
  {%- if start is not none -%}
    {%- set start = (start | string)[:10] ~ ' 00:00:00' -%}
  {%- endif -%}
  {%- if target.type != 'spark' -%}
    {%- set last_load = scalar_query("select max(_loaded_at) from " ~ this) -%}
    {%- set learned = scalar_query(
        "select case when bool_or(effective_from is null) then 'all'"
        ~ " else strftime(min(effective_from), '%Y-%m-%d %H:%M:%S') end from " ~ ref('int_leverage__learned')
        ~ " where _loaded_at > " ~ sql_timestamp_literal(last_load)) -%}
    {%- if learned == 'all' -%}
      {{ return('all') }}
    {%- endif -%}
    {%- if learned is not none and (start is none or learned < start) -%}
      {%- set start = learned -%}
    {%- endif -%}
  {%- endif -%}
  {{ return(start) }}
{% endmacro %}

{#- The bucket number of a rebuild start (a levels_rebuild_from() string). -#}
{% macro rebuild_start_bucket(start) -%}
  {{ bucket_number("cast('" ~ start ~ "' as timestamp)", var('bucket_minutes')) }}
{%- endmacro %}

{#-
  fct_liquidation_heatmap, incremental: the cells a run keeps are, per (symbol, timeframe), those
  of slots [kept_from_slot, kept_to_slot) whose price bin lies in [safe_low, safe_high].

  A cell of a slot that ends before the rebuild start's bucket B (kept_to_slot = floor(B /
  resolution)) shows the state at a snapshot before B, which the new data does not change; but it
  is in the mart only while its bin lies in the window's price range, which moves with the window.
  The range of the new window contains [safe_low, safe_high], the range (widened as in the mart)
  of the buckets from kept_from_slot up to B, which the stored cells were filtered with too (they
  lay in the previous window, unchanged). kept_from_slot is the later of the new window's first slot
  and the first slot stored (slots before it that hold data were not in the previous window, or
  had no cell: computed again). Every other cell of the window is computed again, the rest deleted.

  heatmap_kept_slots: [symbol, timeframe, resolution_buckets, kept_from_slot, kept_to_slot] read
  from the table before the run changes it (the model's SQL is compiled before its pre-hook
  runs, and the pre-hook renders the same list); none kept in a full build or with nothing stored.
-#}
{#- The CTEs `timeframes` and `windows` (symbol, timeframe, resolution_buckets, first_slot: each
    timeframe's window ending at the symbol's latest bucket) that heatmap_kept_slots and
    heatmap_intervals_to_read both start from. -#}
{% macro heatmap_window_ctes() -%}
  {%- set bucket_minutes = var('bucket_minutes') -%}
    timeframes as (
        select timeframe, span_minutes / {{ bucket_minutes }} as span_buckets,
            resolution_minutes / {{ bucket_minutes }} as resolution_buckets
        from {{ ref('heatmap_timeframes') }}
    ),
    windows as (
        select latest.symbol, timeframes.timeframe, timeframes.resolution_buckets,
            cast(floor((latest.last_bucket_number - timeframes.span_buckets + 1)
                / cast(timeframes.resolution_buckets as double)) as bigint) as first_slot
        from (
            select symbol, max(bucket_number) as last_bucket_number
            from {{ ref('int_buckets__timeline') }}
            group by symbol
        ) as latest
        cross join timeframes
    )
{%- endmacro %}

{% macro heatmap_kept_slots(start) %}
  {%- if not execute or start is none or start == 'all' -%}
    {{ return([]) }}
  {%- endif -%}
  {%- set bucket_minutes = var('bucket_minutes') -%}
  {%- set query -%}
    with {{ heatmap_window_ctes() }},
    stored as (
        select symbol, timeframe, min(bucket_start) as first_stored from {{ this }} group by symbol, timeframe
    ),
    kept as (
        select windows.symbol, windows.timeframe, windows.resolution_buckets,
            greatest(windows.first_slot, cast(floor({{ bucket_number('stored.first_stored', bucket_minutes) }}
                / cast(windows.resolution_buckets as double)) as bigint)) as kept_from_slot,
            cast(floor({{ rebuild_start_bucket(start) }} / cast(windows.resolution_buckets as double)) as bigint)
                as kept_to_slot
        from windows
        inner join stored
            on stored.symbol = windows.symbol and stored.timeframe = windows.timeframe
    )
    select symbol, timeframe, resolution_buckets, kept_from_slot, kept_to_slot
    from kept
    where kept_from_slot < kept_to_slot
    order by 1, 2
  {%- endset -%}
  {%- set rows = [] -%}
  {%- for row in run_query(query) -%}
    {%- do rows.append([row[0] | string, row[1] | string, row[2] | int, row[3] | int, row[4] | int]) -%}
  {%- endfor -%}
  {{ return(rows) }}
{% endmacro %}

{#- The kept cells as a relation: symbol, timeframe, kept_from_slot, kept_to_slot, kept_from_at,
    kept_to_at (the slots' starts) and the bins' range [safe_low, safe_high], computed from the
    timeline as the mart computes a window's range (no row when nothing is kept). -#}
{% macro heatmap_kept_cells(kept, start) -%}
  {%- if kept | length == 0 -%}
    select cast(null as {{ dbt.type_string() }}) as symbol, cast(null as {{ dbt.type_string() }}) as timeframe,
        cast(null as bigint) as kept_from_slot, cast(null as bigint) as kept_to_slot,
        cast(null as timestamp) as kept_from_at, cast(null as timestamp) as kept_to_at,
        cast(null as double) as safe_low, cast(null as double) as safe_high
    from (select 1 as one) as nothing
    where 1 = 0
  {%- else -%}
    select
        slots.symbol,
        slots.timeframe,
        slots.kept_from_slot,
        slots.kept_to_slot,
        {{ bucket_number_to_timestamp('slots.kept_from_slot * slots.resolution_buckets', var('bucket_minutes')) }}
            as kept_from_at,
        {{ bucket_number_to_timestamp('slots.kept_to_slot * slots.resolution_buckets', var('bucket_minutes')) }}
            as kept_to_at,
        min(timeline.low) * (1 - {{ var('heatmap_price_range_fraction') }}) as safe_low,
        max(timeline.high) * (1 + {{ var('heatmap_price_range_fraction') }}) as safe_high
    from (values
        {%- for row in kept %}
        ('{{ row[0] | replace("'", "''") }}', '{{ row[1] | replace("'", "''") }}', {{ row[2] }}, {{ row[3] }}, {{ row[4] }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as slots(symbol, timeframe, resolution_buckets, kept_from_slot, kept_to_slot)
    inner join {{ ref('int_buckets__timeline') }} as timeline
        on timeline.symbol = slots.symbol
        and timeline.bucket_number >= slots.kept_from_slot * slots.resolution_buckets
        and timeline.bucket_number < {{ rebuild_start_bucket(start) }}
    group by 1, 2, 3, 4, 5, 6
  {%- endif -%}
{%- endmacro %}

{#-
  fct_liquidation_heatmap, incremental: which state intervals the run reads. An interval is joined
  with every timeframe's window (eleven) and kept where it reaches a slot the run computes; on a
  year of levels that join tests some 48 M pairs to keep 0.2 M. This predicate is the same test
  per (symbol, timeframe), its bounds written in as literals (a few rows computed here; bucket
  numbers as integers, which DuckDB compares as such, where 123.0 would be a decimal), so the
  table's scan drops the other intervals before the join. Per window: the interval is live after
  the window's first slot, and either nothing of the window is kept, or it reaches past the kept
  slots, or it starts before them, or its bin lies outside their price range. 'true' in a full
  build and when nothing is kept.
-#}
{% macro heatmap_intervals_to_read(kept, start) %}
  {%- if not execute or start is none or start == 'all' or kept | length == 0 -%}
    {{ return('true') }}
  {%- endif -%}
  {%- set query -%}
    with {{ heatmap_window_ctes() }},
    kept as ({{ heatmap_kept_cells(kept, start) }})
    select windows.symbol, windows.first_slot * windows.resolution_buckets,
        kept.kept_from_slot * windows.resolution_buckets, kept.kept_to_slot * windows.resolution_buckets,
        kept.safe_low, kept.safe_high
    from windows
    left join kept
        on kept.symbol = windows.symbol and kept.timeframe = windows.timeframe
    order by 1, 2
  {%- endset -%}
  {%- set terms = [] -%}
  {%- for row in run_query(query) -%}
    {%- set symbol = "symbol = '" ~ (row[0] | string | replace("'", "''")) ~ "'" -%}
    {%- set live = "(to_bucket_number is null or to_bucket_number > " ~ (row[1] | int) ~ ")" -%}
    {%- if row[2] is none -%}
      {%- do terms.append("(" ~ symbol ~ " and " ~ live ~ ")") -%}
    {%- else -%}
      {%- do terms.append("(" ~ symbol ~ " and " ~ live ~ " and (to_bucket_number is null"
          ~ " or to_bucket_number > " ~ (row[3] | int) ~ " or from_bucket_number < " ~ (row[2] | int)
          ~ " or not (price_bin between cast('" ~ row[4] ~ "' as double) and cast('" ~ row[5]
          ~ "' as double))))") -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return('(' ~ (terms | join('\n        or ') if terms else '1 = 0') ~ ')') }}
{% endmacro %}

{#- The heatmap's pre-hook: delete every row but the kept cells (all rows in a full rebuild, none
    when nothing changed). The kept cells' bounds are read first (a few rows) and written in as
    literals, so the delete is one scan of the table testing constants; an anti-join against the
    kept relation built a hash join over every stored cell, the cost of the whole history (at 365
    days most of the heatmap's time in a daily build). -#}
{% macro heatmap_delete_outside_kept_cells() %}
  {%- set start = levels_rebuild_from() -%}
  {%- if start is none -%}
    select 1
  {%- else -%}
    {%- set kept = heatmap_kept_slots(start) -%}
    {%- set terms = [] -%}
    {%- if kept | length > 0 -%}
      {%- set query -%}
        select symbol, timeframe, kept_from_at, kept_to_at, safe_low, safe_high
        from ({{ heatmap_kept_cells(kept, start) }}) as kept
        order by 1, 2
      {%- endset -%}
      {%- for row in run_query(query) -%}
        {%- do terms.append("(symbol = '" ~ (row[0] | string | replace("'", "''")) ~ "'"
            ~ " and timeframe = '" ~ (row[1] | string | replace("'", "''")) ~ "'"
            ~ " and bucket_start >= " ~ sql_timestamp_literal(row[2])
            ~ " and bucket_start < " ~ sql_timestamp_literal(row[3])
            ~ " and price_bin between cast('" ~ row[4] ~ "' as double) and cast('" ~ row[5] ~ "' as double))") -%}
      {%- endfor -%}
    {%- endif -%}
    delete from {{ this }}
    {%- if terms %}
    where not (
        {{ terms | join('\n        or ') }}
    )
    {%- endif %}
  {%- endif -%}
{% endmacro %}

{#-
  The rows of int_scoring__live_notional_per_bucket that scoring and the ensemble fit can use: what
  fct_model_scores and fct_ensemble_weights load into Python instead of the whole table (which holds
  every bin of every 5-minute bucket and grows with days x live bins).

  A heatmap group (symbol, model, bucket, side) changes the zone hit rate, the distance to the top
  bins and the fit's objective only when true liquidations on that side come in the NEXT bucket: its
  top bins are ranked within the group, so groups without such truth add nothing. Kept here:
  - judged: every row of a (symbol, side, bucket) just before a true liquidation (all models);
  - edges: per symbol, model and scoring period window [period_start - 1 bucket, period_end), every
    row of the model's first and last bucket in it. They keep what the Python side reads from the
    whole heatmap exactly as it was: each symbol's bucket range (which truth can be judged) and which
    models and symbols have a heatmap in the period.
  So the scores and fitted weights are the same as on the whole table (tests/dbt_python pins it).
-#}
with

cells as (

    select symbol, model, bucket_start, price_bin, side, live_notional
    from {{ ref('int_scoring__live_notional_per_bucket') }}

),

windows as (

    select
        period_start - to_minutes({{ var('bucket_minutes') }}) as window_start,
        period_end as window_end
    from {{ ref('int_scoring__periods') }}

),

judged as (

    select distinct
        symbol,
        position_side as side,
        time_bucket(to_minutes({{ var('bucket_minutes') }}), liquidated_at)
            - to_minutes({{ var('bucket_minutes') }}) as bucket_start
    from {{ ref('stg_truth__liquidations') }}

),

edges as (

    select
        cells.symbol,
        cells.model,
        min(cells.bucket_start) as first_bucket,
        max(cells.bucket_start) as last_bucket
    from cells
    inner join windows
        on cells.bucket_start >= windows.window_start
        and cells.bucket_start < windows.window_end
    group by cells.symbol, cells.model, windows.window_start

),

edge_buckets as (

    select symbol, model, first_bucket as bucket_start from edges
    union
    select symbol, model, last_bucket as bucket_start from edges

)

select cells.*
from cells
where exists (
    select 1
    from judged
    where judged.symbol = cells.symbol
        and judged.side = cells.side
        and judged.bucket_start = cells.bucket_start
)
or exists (
    select 1
    from edge_buckets
    where edge_buckets.symbol = cells.symbol
        and edge_buckets.model = cells.model
        and edge_buckets.bucket_start = cells.bucket_start
)

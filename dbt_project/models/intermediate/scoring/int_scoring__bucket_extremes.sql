{#-
  The price range each 5-minute bucket traversed: the ONE input the path-conditioned yardstick
  reads for "where did price go". Today the lowest and highest trade price of the bucket
  (int_buckets__timeline). Binance liquidates on the mark price: where mark-price klines are in the
  lake, this relation is the place to use their extremes instead (nothing else in the scoring needs
  to change).
-#}
{{ config(materialized='view') }}
select
    symbol,
    bucket_start,
    low as path_low,
    high as path_high
from {{ ref('int_buckets__timeline') }}

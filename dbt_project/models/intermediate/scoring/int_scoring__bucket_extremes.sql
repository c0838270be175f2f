{#-
  The price range each 5-minute bucket traversed: the ONE input the path-conditioned yardstick
  reads for "where did price go". Binance liquidates on the mark price, so this is the bucket's
  mark-price extremes where markPriceKlines cover it and its trade extremes otherwise: the
  timeline's reach_low / reach_high, the same prices the lifecycle tests levels against.
-#}
{{ config(materialized='view') }}
select
    symbol,
    bucket_start,
    reach_low as path_low,
    reach_high as path_high
from {{ ref('int_buckets__timeline') }}

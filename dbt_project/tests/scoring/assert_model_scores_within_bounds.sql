-- Every score lies within its metric's range: hit rate in [0, 1], correlation in [-1, 1],
-- calibration and median distance >= 0 (null = undefined, e.g. no truth in the period).
select *
from {{ ref('fct_model_scores') }}
where value is not null
  and not (
    (metric = 'zone_hit_rate' and value between 0 and 1)
    or (metric = 'hourly_correlation' and value between -1 - 1e-12 and 1 + 1e-12)
    or (metric = 'calibration' and value >= 0)
    or (metric = 'median_distance_pct' and value >= 0)
  )

-- Every score lies within its metric's range: overlap in [0, 1], correlation in [-1, 1],
-- calibration and emd_pct >= 0; the uniform map's skill is 0 and the oracle's 1 (by definition);
-- every interval has low <= high (null = undefined, e.g. no truth in the period).
select *
from {{ ref('fct_model_scores') }}
where (
    value is not null
    and not (
        (metric = 'overlap' and value between -1e-12 and 1 + 1e-12)
        or (metric = 'skill' and (
            (model = 'uniform' and abs(value) < 1e-9)
            or (model = 'oracle' and abs(value - 1) < 1e-9)
            or model not in ('uniform', 'oracle')
        ))
        or (metric = 'hourly_correlation' and value between -1 - 1e-12 and 1 + 1e-12)
        or (metric = 'calibration' and value >= 0)
        or (metric = 'emd_pct' and value >= 0)
    )
)
or (low is not null and high is not null and low > high + 1e-12)

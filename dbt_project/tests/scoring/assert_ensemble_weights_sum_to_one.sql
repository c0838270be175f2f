-- The ensemble's weights are a convex combination: per evaluation window, each in [0, 1], together 1.
select window_id, count(*) as models, sum(weight) as total_weight
from {{ ref('fct_ensemble_weights') }}
group by window_id
having abs(sum(weight) - 1) > 1e-9

-- The ensemble's weights are a convex combination: each in [0, 1], together 1.
select count(*) as models, sum(weight) as total_weight
from {{ ref('fct_ensemble_weights') }}
having count(*) > 0 and abs(sum(weight) - 1) > 1e-9

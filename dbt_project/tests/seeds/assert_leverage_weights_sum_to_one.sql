-- Each model's leverage distribution sums to 1, so spreading over leverage neither adds nor loses size.
select model, sum(weight) as total_weight
from {{ ref('leverage_weights') }}
group by model
having abs(sum(weight) - 1) > 1e-9

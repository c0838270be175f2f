-- The notional scale is true ÷ predicted shrunk toward 1 in log space (python_models.calibration):
-- exp(shrink_weight × ln raw_scale), raw = true_notional / predicted_notional, where both totals
-- are positive; 1 (weight 0) where either is not, and in window 0 (before the first fit).
select *
from {{ ref('fct_model_calibration') }}
where abs(shrink_weight - case
        when effective_count > 0 then effective_count / (effective_count + {{ var('calibration_prior_count') }})
        else 0 end) > 1e-9 and raw_scale is not null
    or (raw_scale is not null
        and abs(raw_scale - true_notional / predicted_notional) > 1e-9 * raw_scale)
    or (raw_scale is not null
        and abs(notional_scale - exp(shrink_weight * ln(raw_scale))) > 1e-9 * notional_scale)
    or (raw_scale is null and notional_scale != 1)
    or (window_id = 0 and notional_scale != 1)
    or (raw_scale is null and (true_notional > 0 and predicted_notional > 0))

{#-
  The distance smoothing the build scored the model maps with (vars map_smoothing_*;
  python_models.smoothing), one row, so the API serves the same smoothed maps: sigma of a cell =
  min(max_bins, max(min_bins, rate x its distance from the price in bins)), in scoring bins
  (score_bin_multiple price bins). rate 0: no smoothing.
-#}
select
    cast({{ var('map_smoothing_rate') }} as double) as rate,
    cast({{ var('map_smoothing_min_bins') }} as double) as min_bins,
    cast({{ 'null' if var('map_smoothing_max_bins') is none else var('map_smoothing_max_bins') }} as double) as max_bins,
    cast({{ var('score_bin_multiple') }} as integer) as score_bin_multiple

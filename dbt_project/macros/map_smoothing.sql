{#-
  How many scoring bins beyond a window's traversed bins int_scoring__window_map_cells carries, so
  the distance smoothing of int_scoring__placement / fct_ensemble_weights
  (python_models.smoothing.smooth_window_cells) sees every cell whose kernel reaches the traversed
  bins: ceil(3 x map_smoothing_max_bins), 0 when map_smoothing_rate is 0 (no smoothing). Must agree
  with python_models.smoothing.margin_bins.
-#}
{% macro map_smoothing_margin_bins() -%}
    {%- set rate = var('map_smoothing_rate') | float -%}
    {%- set cap = var('map_smoothing_max_bins') -%}
    {%- if rate == 0 -%}
        0
    {%- elif cap is none -%}
        {{ exceptions.raise_compiler_error("var map_smoothing_max_bins must be a number of bins when map_smoothing_rate > 0 (it bounds the cells read beyond the traversed bins)") }}
    {%- else -%}
        {{ (3 * (cap | float)) | round(0, 'ceil') | int }}
    {%- endif -%}
{%- endmacro %}

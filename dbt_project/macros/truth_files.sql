{#- The glob of one truth dataset's CSV files under TRUTH_PATH: the same files the `truth` source
    reads (models/staging/truth/_truth__sources.yml spells the same path in its external_location). -#}
{% macro truth_files_glob(dataset) -%}
  {{ env_var('TRUTH_PATH', 'data/raw/truth') }}/{{ dataset }}/*/*.csv
{%- endmacro %}

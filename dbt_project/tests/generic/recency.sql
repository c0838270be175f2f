{#- Fails (one row) when the newest `column_name` is older than `max_age_days` before the
    reference date (var as_of_date, default today). For a historical archive this is a warning:
    it says how old the data is, not that it is wrong. -#}
{% test recency(model, column_name, max_age_days) %}
{%- set reference = var('as_of_date') -%}
select max({{ column_name }}) as newest
from {{ model }}
having max({{ column_name }}) is null
    or max({{ column_name }}) < {% if reference %}cast('{{ reference }}' as timestamp){% else %}current_timestamp{% endif %}
        - interval '{{ max_age_days }}' day
{% endtest %}

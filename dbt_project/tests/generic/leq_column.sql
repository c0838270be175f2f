{#- Rows where `column_name` exceeds `other_column` by more than a relative tolerance. -#}
{% test not_greater_than_column(model, column_name, other_column, relative_tolerance=1e-9) %}
select *
from {{ model }}
where {{ column_name }} > {{ other_column }} * (1 + {{ relative_tolerance }}) + 1e-9
{% endtest %}

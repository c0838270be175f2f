{#- Consecutive timestamps (per `partition_by`) further apart than `max_gap_minutes`: one row per
    gap, with its start and length. -#}
{% test no_time_gaps(model, column_name, max_gap_minutes, partition_by=none) %}
with ordered as (
    select
        {% if partition_by %}{{ partition_by | join(', ') }},{% endif %}
        {{ column_name }} as gap_start,
        lead({{ column_name }}) over (
            {% if partition_by %}partition by {{ partition_by | join(', ') }}{% endif %}
            order by {{ column_name }}
        ) as gap_end
    from {{ model }}
)
select *
from ordered
where gap_end > gap_start + interval '{{ max_gap_minutes }}' minute
{% endtest %}

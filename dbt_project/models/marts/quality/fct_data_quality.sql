{#- The data-quality profile a user reads after ingest (`liquidationheatmap validate`). -#}
select
    dataset,
    symbol,
    value_name,
    raw_rows,
    clean_rows,
    duplicates_removed,
    invalid_rows,
    first_at,
    last_at,
    min_value,
    max_value
from {{ ref('int_quality__dataset_profile') }}

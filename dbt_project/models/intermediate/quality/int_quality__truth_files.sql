{#-
  The truth CSV files this build saw: path, size and modification time per file (metadata only, no
  file is read). The next incremental build compares the truth folder with this list to find the
  files that are new or changed since, and tests only their rows (macros/test_scope.sql,
  `__truth_files_changed__`): the position files run to gigabytes of CSV at 30 days, and the files
  a build already tested are unchanged.

  The depends_on line makes dbt run this model after the truth staging model's tests, so those
  tests always compare the folder with the list of the previous build.
-#}
-- depends_on: {{ ref('stg_truth__positions') }}
{%- set datasets = var('truth_datasets') | select('in', ['liquidations', 'positions']) | list %}
with

no_files as (

    select
        cast(null as varchar) as dataset,
        cast(null as varchar) as file_path,
        cast(null as bigint) as size_bytes,
        cast(null as timestamp with time zone) as last_modified
    where 1 = 0

)

select * from no_files
{%- for dataset in datasets %}
union all
select
    '{{ dataset }}' as dataset,
    cast(file_path as varchar) as file_path,
    cast(size_bytes as bigint) as size_bytes,
    cast(last_modified as timestamp with time zone) as last_modified
from {{ file_listing(truth_files_glob(dataset)) }} as files
{%- endfor %}

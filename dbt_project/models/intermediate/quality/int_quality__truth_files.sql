{#-
  The truth files in the lake as this build saw them: one row per truth file the ingest manifest
  lists as loaded (its latest load), with its sha256. The next incremental build tests only the
  truth rows of files loaded since (macros/test_scope.sql, `__truth_files_changed__`): the position
  files run to gigabytes at 30 days, and the files a build already tested are unchanged.

  The depends_on line makes dbt run this model after the truth staging model's tests, so those
  tests always compare the manifest with the list of the previous build.
-#}
-- depends_on: {{ ref('stg_truth__positions') }}
with

loads as (

    select
        dataset,
        symbol,
        period,
        source_path,
        sha256,
        ingested_at,
        row_number() over (
            partition by dataset, source_path order by ingested_at desc, sha256
        ) as recency
    from {{ ref('stg_ingest__manifest') }}
    where dataset in ('liquidations', 'positions')
        and status = 'loaded'

)

select
    dataset,
    symbol,
    cast(period as date) as file_date,
    source_path as file_path,
    sha256,
    ingested_at
from loads
where recency = 1

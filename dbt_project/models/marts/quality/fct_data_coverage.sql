{#- Days and gaps per dataset and symbol: which UTC days exist between the first and the last,
    which are missing (as ranges), and how many intraday rows are missing where a day's size is
    known (metrics: 288 rows); and the coverage gaps the live recorder wrote down (disconnects,
    ids not backfilled, open-interest periods not filled). -#}
with

days as (

    select * from {{ ref('int_coverage__days') }}

),

with_next as (

    select
        *,
        lead(day) over (partition by dataset, symbol order by day) as next_day
    from days

),

gaps as (

    select
        dataset,
        symbol,
        cast({{ add_days('day', 1) }} as {{ text_type() }}) || case when {{ days_between('day', 'next_day') }} > 2
            then ' .. ' || cast({{ add_days('next_day', -1) }} as {{ text_type() }}) else '' end as missing_range,
        {{ days_between('day', 'next_day') }} - 1 as missing_days,
        day
    from with_next
    where {{ days_between('day', 'next_day') }} > 1

),

coverage as (

    select
        dataset,
        symbol,
        min(day) as first_day,
        max(day) as last_day,
        {{ days_between('min(day)', 'max(day)') }} + 1 as days_in_range,
        count(*) as days_present,
        {{ days_between('min(day)', 'max(day)') }} + 1 - count(*) as days_missing,
        sum(row_count) as row_count,
        sum(case when expected_rows is not null then greatest(expected_rows - row_count, 0) else 0 end)
            as intraday_rows_missing
    from days
    group by dataset, symbol

),

recorder_gaps as (

    select
        dataset,
        symbol,
        count(*) as recorded_gaps,
        sum(coalesce(missing_ids, 0)) as recorded_missing_ids
    from {{ ref('stg_live__gaps') }}
    where dataset is not null
    group by dataset, symbol

),

gap_lists as (

    select
        dataset,
        symbol,
        count(*) as gap_count,
        max(missing_days) as largest_gap_days,
        {{ string_list('missing_range', 'day') }} as missing_days_list
    from gaps
    group by dataset, symbol

)

select
    coverage.dataset,
    coverage.symbol,
    coverage.first_day,
    coverage.last_day,
    coverage.days_in_range,
    coverage.days_present,
    coverage.days_missing,
    coalesce(gap_lists.gap_count, 0) as gap_count,
    coalesce(gap_lists.largest_gap_days, 0) as largest_gap_days,
    gap_lists.missing_days_list,
    coverage.row_count,
    coverage.intraday_rows_missing,
    coalesce(recorder_gaps.recorded_gaps, 0) as recorded_gaps,
    coalesce(recorder_gaps.recorded_missing_ids, 0) as recorded_missing_ids
from coverage
left join gap_lists
    on gap_lists.dataset = coverage.dataset
    and gap_lists.symbol = coverage.symbol
left join recorder_gaps
    on recorder_gaps.dataset = coverage.dataset
    and recorder_gaps.symbol = coverage.symbol

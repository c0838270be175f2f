{#- Every engine-specific macro of macros/portable_sql.sql (and exact_sum, which makes the engines
    agree) gives the expected value on the engine this runs on (DuckDB and Spark both build the
    project): one row per case that does not. -#}
with

numbers as (

    select 1 as x, 10 as y, cast(null as double) as z
    union all select 2, 20, 5.0
    union all select 4, 30, cast(null as double)

),

tenths as (

    select cast(0.1 as double) as v
    union all select cast(0.2 as double)
    union all select cast(0.3 as double)

),

letters as (

    select 'b' as letter, 2 as position
    union all select 'a', 1

),

windowed as (

    select
        y,
        {{ last_value_ignore_nulls('z') }} over (order by y rows between unbounded preceding and current row)
            as last_z
    from numbers

),

series as (

    select {{ integer_series('1', '3') }} as n

),

kept_first as (

    {{ qualify_filter('select x, y from numbers', 'row_number() over (order by y desc)', '= 1') }}

),

without_y as (

    select {{ star_except('numbers', ['y', 'z']) }} from numbers

),

cases as (

    select 'safe_divide by zero is null' as name,
        case when {{ safe_divide('1.0', '0') }} is null then 1 else 0 end as ok
    union all select 'integer_divide', case when {{ integer_divide('7', '2') }} = 3 then 1 else 0 end
    union all select 'natural_log', case when abs({{ natural_log('exp(2.0)') }} - 2) < 1e-12 then 1 else 0 end
    union all select 'days_between',
        case when {{ days_between("cast('2025-02-27' as date)", "cast('2025-03-02' as date)") }} = 3
        then 1 else 0 end
    union all select 'add_days',
        case when {{ add_days("cast('2024-02-28' as date)", 2) }} = cast('2024-03-01' as date) then 1 else 0 end
    union all select 'epoch_ms_to_timestamp',
        case when {{ epoch_ms_to_timestamp('1740825268211') }} = cast('2025-03-01 10:34:28.211' as timestamp)
        then 1 else 0 end
    union all select 'timestamp_to_epoch_seconds rounds down',
        case when {{ timestamp_to_epoch_seconds("cast('2025-01-01 00:00:01.9' as timestamp)") }} = 1735689601
        then 1 else 0 end
    union all select 'epoch_seconds_to_timestamp',
        case when {{ epoch_seconds_to_timestamp('100') }} = cast('1970-01-01 00:01:40' as timestamp)
        then 1 else 0 end
    union all select 'bucket_number',
        case when {{ bucket_number("cast('2025-01-01 00:09:59.999' as timestamp)", 5) }} = 5785633
        then 1 else 0 end
    union all select 'quantile_cont',
        (select case when {{ quantile_cont('x', 0.5) }} = 2 then 1 else 0 end from numbers)
    union all select 'arg_min and arg_max',
        (select case when {{ arg_min('x', 'y') }} = 1 and {{ arg_max('x', 'y') }} = 4 then 1 else 0 end from numbers)
    union all select 'string_list',
        (select case when {{ string_list('letter', 'position') }} = 'a, b' then 1 else 0 end from letters)
    union all select 'list_agg and list_length',
        (select case when {{ list_length(list_agg('letter', 'position')) }} = 2 then 1 else 0 end from letters)
    union all select 'last_value_ignore_nulls',
        (select case when max(case when y = 30 then last_z end) = 5.0
            and max(case when y = 10 then last_z end) is null then 1 else 0 end from windowed)
    union all select 'integer_series',
        (select case when count(*) = 3 and sum(n) = 6 then 1 else 0 end from series)
    union all select 'qualify_filter',
        (select case when count(*) = 1 and max(x) = 4 then 1 else 0 end from kept_first)
    union all select 'star_except',
        (select case when sum(x) = 7 then 1 else 0 end from without_y)
    union all select 'exact_sum is exact where sum is not (0.1 + 0.2 + 0.3)',
        (select case when {{ exact_sum('v', 6) }} = cast(0.6 as double) then 1 else 0 end from tenths)
    union all select 'text_type',
        case when cast(12 as {{ text_type() }}) = '12' then 1 else 0 end

)

select name
from cases
where ok is null or ok <> 1

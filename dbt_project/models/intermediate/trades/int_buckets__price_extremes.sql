{#-
  Lowest reach_low and highest reach_high (mark-price extremes where present, else trade; see
  int_buckets__timeline) over 2^k consecutive buckets starting at each bucket (a sparse
  table, k = 0 .. lifecycle_max_log2_buckets). The lifecycle uses it to find, per level, the first
  later bucket whose low (high) crosses its price in about log2(buckets) hash-join steps instead
  of comparing every level with every later bucket.
-#}
with

timeline as (

    select * from {{ ref('int_buckets__timeline') }}

),

extremes as (

    {% for k in range(var('lifecycle_max_log2_buckets') + 1) %}
    select
        symbol,
        bucket_index,
        {{ k }} as span_log2,
        min(reach_low) over (
            partition by symbol order by bucket_index
            rows between current row and {{ 2 ** k - 1 }} following
        ) as min_low,
        max(reach_high) over (
            partition by symbol order by bucket_index
            rows between current row and {{ 2 ** k - 1 }} following
        ) as max_high
    from timeline
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from extremes

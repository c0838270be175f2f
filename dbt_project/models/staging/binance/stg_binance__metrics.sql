{#- Binance changed the label of metrics rows on var('metrics_label_change_date'): before, a row's
    create_time is the END of its 5-minute period; from then on, its START. Normalised here so every
    row means "the period starting at period_start, open interest measured at its end". -#}
with

source as (

    select * from {{ lake_scan('metrics') }}

),

renamed as (

    select
        cast(symbol as {{ text_type() }}) as symbol,
        cast(date as date) as file_date,
        cast(create_time as timestamp) as create_time,
        case
            when cast(date as date) < cast('{{ var("metrics_label_change_date") }}' as date)
                then cast(create_time as timestamp) - interval '{{ var("bucket_minutes") }}' minute
            else cast(create_time as timestamp)
        end as period_start,
        cast(date as date) < cast('{{ var("metrics_label_change_date") }}' as date) as is_end_of_period_label,
        cast(sum_open_interest as double) as open_interest,
        cast(sum_open_interest_value as double) as open_interest_usdt,
        cast(count_toptrader_long_short_ratio as double) as top_trader_account_long_short_ratio,
        cast(sum_toptrader_long_short_ratio as double) as top_trader_position_long_short_ratio,
        cast(count_long_short_ratio as double) as account_long_short_ratio,
        cast(sum_taker_long_short_vol_ratio as double) as taker_buy_sell_volume_ratio

    from source

)

select * from renamed

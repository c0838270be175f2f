{#- The recorded (true) liquidations, one row per forced order, for the pages to show beside the
    maps: where the liquidations really came. Display only: no model reads this mart (the models
    that learn read the train period of stg_truth__liquidations themselves). -#}
with

liquidations as (

    select * from {{ ref('stg_truth__liquidations') }}

)

select
    symbol,
    liquidated_at,
    position_side as side,
    fill_price,
    fill_quantity,
    fill_notional
from liquidations
where fill_notional > 0

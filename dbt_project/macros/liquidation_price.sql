{#
  Binance USD-M liquidation price, isolated margin, one-way mode, under ONE bracket:

      LP = (WB + cum - s*Q*EP) / (Q * (MMR - s))        s = +1 long, -1 short

  The caller evaluates it under every bracket of the symbol's table and keeps the self-consistent
  one (the bracket whose notional range holds Q*LP); see int_positions__liquidation_price and
  the `liquidation_model` docs block. Mirrors liquidationheatmap/margin.py.
#}
{% macro liquidation_price(side, entry_price, quantity, wallet_balance, maint_margin_ratio, maint_amount) -%}
  (
    ({{ wallet_balance }} + {{ maint_amount }}
      - (case when {{ side }} = 'long' then 1 else -1 end) * {{ quantity }} * {{ entry_price }})
    / ({{ quantity }} * ({{ maint_margin_ratio }} - (case when {{ side }} = 'long' then 1 else -1 end)))
  )
{%- endmacro %}

{# Price-bin lower edge for a price and a bin size. #}
{% macro price_bin(price, bin_size) -%}
  (floor({{ price }} / {{ bin_size }}) * {{ bin_size }})
{%- endmacro %}

{#
  A var holding a per-symbol mapping, rendered as a SQL CASE on `symbol_column`
  (null for symbols not in the mapping).
#}
{% macro per_symbol_var(var_name, symbol_column) -%}
  {%- set mapping = var(var_name) -%}
  {%- if mapping -%}
  case {{ symbol_column }}
    {%- for symbol, value in mapping.items() %}
    when '{{ symbol }}' then cast({{ value }} as double)
    {%- endfor %}
  end
  {%- else -%}
  cast(null as double)
  {%- endif -%}
{%- endmacro %}

{# True when `dataset` is in the lake (var lake_datasets, set by `liquidationheatmap build`). #}
{% macro lake_has(dataset) -%}
  {{ return(dataset in var('lake_datasets')) }}
{%- endmacro %}

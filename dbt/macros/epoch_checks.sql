{#-
  What a raw epoch must be before it is converted to a timestamp: the contracts' window (quote.v1 / trade.v1:
  2000-01-01 up to, not including, 2100-01-01 UTC), and not more than var('max_clock_lead_seconds') ahead of the
  build's clock. Past 2100 the conversion can overflow (t = 10**13 s) and fail the whole build; ahead of the clock
  a time has no date in dim_date yet. Rows that fail are routed to bronze_quarantine with the reason, never to
  silver. `epoch` is a number (double) in `unit` ('s' or 'ms'); NULL or 0 (no time, e.g. Finnhub's zero quote)
  is no reason here: silver drops those rows as before.
-#}

{#- NULL when `epoch` may be converted (or is absent), else the reason (text). -#}
{% macro epoch_problem(epoch, field, unit='s') -%}
  {%- set scale = 1000 if unit == 'ms' else 1 -%}
  {%- set first = 946684800 * scale -%}
  {%- set end = 4102444800 * scale -%}
  case
    when {{ epoch }} is null or {{ epoch }} = 0 then null
    when {{ epoch }} < {{ first }} or {{ epoch }} >= {{ end }}
      then '{{ field }} outside the contract window 2000-01-01..2100-01-01 (UNIX {{ "milliseconds" if unit == "ms" else "seconds" }})'
    when {{ epoch }} > ({{ utc_now_epoch() }} + {{ var('max_clock_lead_seconds') }}) * {{ scale }}
      then '{{ field }} more than {{ var("max_clock_lead_seconds") }} s ahead of the clock'
    {%- if field == 't' %}
    when {{ epoch }} <> floor({{ epoch }}) then '{{ field }} is not a whole number'
    {%- endif %}
  end
{%- endmacro %}

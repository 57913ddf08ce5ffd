{{ config(unique_key=['symbol', 'trade_ms', 'price', 'volume', 'conditions']) }}
-- Grain: one row per trade, natural key (symbol, trade_ms, price, volume, conditions). Finnhub's trades carry no
-- id, so two genuinely identical prints in the same millisecond collapse into one (rare, and documented).
-- Copies from re-delivered objects are dropped; the first sighting is kept. Empty while no trades exist.
--
-- While this table is empty (trades not streamed), its own watermark would make every run parse the whole raw
-- table. The quotes' silver table, as the previous run left it (silver_clean_stock_quotes runs after this
-- model: see its depends_on), stands in: every raw row loaded up to then was already scanned here and held no
-- trade. Taken by name, not ref(), to avoid a cycle.
{%- set quotes_so_far = none -%}
{%- if execute and is_incremental() -%}
  {%- set quotes_so_far = adapter.get_relation(this.database, this.schema, 'silver_clean_stock_quotes') -%}
{%- endif %}

with new_rows as (
    select *
    from {{ ref('bronze_stg_trades') }}
    {% if is_incremental() -%}
    where {{ loaded_since_watermark('loaded_at', fallback_relation=quotes_so_far) }}
    {%- endif %}
),

cleaned as (
    select
        upper(trim(symbol)) as symbol,
        trade_ms,
        trade_timestamp,
        price,
        volume,
        -- a key column must not be NULL (NULL never matches in a merge): absent conditions become []
        coalesce(nullif(conditions, 'null'), '[]') as conditions,
        fetched_at,
        source,
        feed,
        object_key,
        loaded_at
    from new_rows
    where price > 0
      and volume >= 0
      and trade_ms > 0
      and nullif(trim(symbol), '') is not null
      and quarantine_reason is null  -- unconvertible times: see bronze_quarantine
),

first_sighting as (
    select *
    from cleaned
    qualify row_number() over (
        partition by symbol, trade_ms, price, volume, conditions
        order by fetched_at nulls last, loaded_at, object_key
    ) = 1
)

select
    symbol,
    trade_ms,
    trade_timestamp,
    price,
    volume,
    conditions,
    fetched_at,
    source,
    feed,
    object_key,
    loaded_at
from first_sighting as batch
{% if is_incremental() -%}
where {{ not_stored_yet(['symbol', 'trade_ms', 'price', 'volume', 'conditions'], 'trade_timestamp') }}
{%- endif %}

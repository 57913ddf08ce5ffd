{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['symbol', 'trade_minute'],
    on_schema_change='append_new_columns'
) }}
-- Grain: one row per (symbol, trade_minute) with at least one trade: traded volume, trade count, VWAP
-- (sum(price * volume) / sum(volume); NULL for a minute of zero-volume prints) and the trade-price candle.
-- Empty while no trades are streamed. Incremental like gold_candles_1m: touched minutes are recomputed.
-- Lineage: feed and source of the minute's closing trade; feeds = every feed of the minute's trades (silver keeps
-- one copy of a trade whatever the feed), distinct, sorted, comma-separated.

with trades as (
    select
        symbol,
        {{ dbt.date_trunc('minute', 'trade_timestamp') }} as trade_minute,
        trade_timestamp,
        trade_ms,
        price,
        volume,
        feed,
        source,
        loaded_at
    from {{ ref('silver_clean_trades') }}
),

{% if is_incremental() -%}
touched_minutes as (
    select distinct symbol, trade_minute
    from trades
    where {{ loaded_since_watermark('loaded_at', 'last_loaded_at') }}
),

trades_in_scope as (
    select trades.*
    from trades
    inner join touched_minutes
        on trades.symbol = touched_minutes.symbol
        and trades.trade_minute = touched_minutes.trade_minute
    where trades.trade_timestamp >= (select min(trade_minute) from touched_minutes)
),
{%- else -%}
trades_in_scope as (
    select * from trades
),
{%- endif %}

ordered as (
    -- several trades can share a millisecond: the price breaks the tie, so reruns agree on open and close
    select
        *,
        row_number() over (partition by symbol, trade_minute order by trade_ms, price) as seq_from_open,
        row_number() over (partition by symbol, trade_minute order by trade_ms desc, price desc) as seq_from_close
    from trades_in_scope
),

per_minute as (
    select
        symbol,
        trade_minute,
        count(*) as trade_count,
        sum(volume) as volume,
        sum(price * volume) / nullif(sum(volume), 0) as vwap,
        max(case when seq_from_open = 1 then price end) as open_price,
        max(price) as high_price,
        min(price) as low_price,
        max(case when seq_from_close = 1 then price end) as close_price,
        max(loaded_at) as last_loaded_at,
        max(case when seq_from_close = 1 then feed end) as close_feed,
        max(case when seq_from_close = 1 then source end) as close_source,
        {{ sorted_distinct_list('feed') }} as feeds
    from ordered
    group by symbol, trade_minute
)

select
    cast(symbol as varchar) as symbol,
    cast(trade_minute as {{ dbt.type_timestamp() }}) as trade_minute,
    cast(trade_minute as date) as trade_date,
    cast(trade_count as bigint) as trade_count,
    cast(volume as double) as volume,
    cast(round(vwap, 4) as double) as vwap,
    cast(open_price as double) as open_price,
    cast(high_price as double) as high_price,
    cast(low_price as double) as low_price,
    cast(close_price as double) as close_price,
    cast(last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at,
    cast(close_feed as varchar) as feed,
    cast(close_source as varchar) as source,
    cast(feeds as varchar) as feeds
from per_minute

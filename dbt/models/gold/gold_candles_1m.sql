{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['symbol', 'candle_minute'],
    on_schema_change='append_new_columns'
) }}
-- Grain: one row per (symbol, candle_minute). Candles of *sampled* prices: open/high/low/close of the quotes
-- whose quote time falls in the minute, not of every trade (quotes are polled, so extremes between polls are
-- missed; trade candles come from gold_trades_1m). Incremental: the minutes that received new quotes are
-- recomputed from all of their quotes, so late quotes correct a candle instead of duplicating it.
-- Lineage: feed and source of the closing quote; feeds = the feeds whose quotes (silver's winning copies) made
-- the candle, distinct, sorted, comma-separated.

with quotes as (
    select
        symbol,
        {{ dbt.date_trunc('minute', 'market_timestamp') }} as candle_minute,
        market_timestamp,
        current_price,
        feed,
        source,
        loaded_at
    from {{ ref('silver_clean_stock_quotes') }}
),

{% if is_incremental() -%}
touched_minutes as (
    select distinct symbol, candle_minute
    from quotes
    where {{ loaded_since_watermark('loaded_at', 'last_loaded_at') }}
),

quotes_in_scope as (
    select quotes.*
    from quotes
    inner join touched_minutes
        on quotes.symbol = touched_minutes.symbol
        and quotes.candle_minute = touched_minutes.candle_minute
    where quotes.market_timestamp >= (select min(candle_minute) from touched_minutes)
),
{%- else -%}
quotes_in_scope as (
    select * from quotes
),
{%- endif %}

candles as (
    select
        symbol,
        candle_minute,
        min_by(current_price, market_timestamp) as open_price,
        max(current_price) as high_price,
        min(current_price) as low_price,
        max_by(current_price, market_timestamp) as close_price,
        count(*) as quote_count,
        min(market_timestamp) as first_quote_at,
        max(market_timestamp) as last_quote_at,
        max(loaded_at) as last_loaded_at,
        max_by(feed, market_timestamp) as close_feed,
        max_by(source, market_timestamp) as close_source,
        {{ sorted_distinct_list('feed') }} as feeds
    from quotes_in_scope
    group by symbol, candle_minute
)

select
    cast(symbol as varchar) as symbol,
    cast(candle_minute as {{ dbt.type_timestamp() }}) as candle_minute,
    cast(candle_minute as date) as candle_date,
    cast(open_price as double) as open_price,
    cast(high_price as double) as high_price,
    cast(low_price as double) as low_price,
    cast(close_price as double) as close_price,
    cast(quote_count as bigint) as quote_count,
    cast(first_quote_at as {{ dbt.type_timestamp() }}) as first_quote_at,
    cast(last_quote_at as {{ dbt.type_timestamp() }}) as last_quote_at,
    cast(last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at,
    cast(close_feed as varchar) as feed,
    cast(close_source as varchar) as source,
    cast(feeds as varchar) as feeds
from candles

{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['symbol', 'trade_date'],
    on_schema_change='append_new_columns'
) }}
-- Grain: one row per (symbol, trade_date), trade_date being the UTC date of the quote time (a US session,
-- 13:30-21:00 UTC, falls inside one UTC date). Open, previous close and the day's range come from Finnhub's own
-- quote fields (o, pc, h, l of the day's last quote), widened by the observed prices; close is the last price.
-- realized_volatility_1m: sample standard deviation of the log returns between consecutive 1-minute candle
-- closes of the day (not annualised). Incremental: days that received new quotes are recomputed whole.
-- Lineage: feed and source of the day's last quote; feeds = the feeds whose quotes made the day (as candles).

with quotes as (
    select
        symbol,
        cast(market_timestamp as date) as trade_date,
        market_timestamp,
        current_price,
        day_high,
        day_low,
        day_open,
        prev_close,
        feed,
        source,
        loaded_at
    from {{ ref('silver_clean_stock_quotes') }}
),

{% if is_incremental() -%}
touched_days as (
    select distinct symbol, trade_date
    from quotes
    where {{ loaded_since_watermark('loaded_at', 'last_loaded_at') }}
),

quotes_in_scope as (
    select quotes.*
    from quotes
    inner join touched_days
        on quotes.symbol = touched_days.symbol
        and quotes.trade_date = touched_days.trade_date
    where quotes.trade_date >= (select min(trade_date) from touched_days)
),
{%- else -%}
quotes_in_scope as (
    select * from quotes
),
{%- endif %}

day_quotes as (
    select
        symbol,
        trade_date,
        max_by(day_open, market_timestamp) as finnhub_open,
        min_by(current_price, market_timestamp) as first_price,
        max_by(current_price, market_timestamp) as close_price,
        max_by(prev_close, market_timestamp) as prev_close,
        max(day_high) as finnhub_high,
        min(day_low) as finnhub_low,
        max(current_price) as observed_high,
        min(current_price) as observed_low,
        count(*) as quote_count,
        min(market_timestamp) as first_quote_at,
        max(market_timestamp) as last_quote_at,
        max(loaded_at) as last_loaded_at,
        max_by(feed, market_timestamp) as close_feed,
        max_by(source, market_timestamp) as close_source,
        {{ sorted_distinct_list('feed') }} as feeds
    from quotes_in_scope
    group by symbol, trade_date
),

minute_closes as (
    select
        candles.symbol,
        cast(candles.candle_minute as date) as trade_date,
        candles.candle_minute,
        candles.close_price,
        lag(candles.close_price) over (
            partition by candles.symbol, cast(candles.candle_minute as date) order by candles.candle_minute
        ) as previous_close_price,
        lag(candles.candle_minute) over (
            partition by candles.symbol, cast(candles.candle_minute as date) order by candles.candle_minute
        ) as previous_candle_minute
    from {{ ref('gold_candles_1m') }} as candles
    inner join day_quotes
        on candles.symbol = day_quotes.symbol
        and cast(candles.candle_minute as date) = day_quotes.trade_date
),

day_volatility as (
    select
        symbol,
        trade_date,
        count(*) as minutes_with_quotes,
        stddev_samp(
            case
                when previous_candle_minute = {{ dbt.dateadd('minute', -1, 'candle_minute') }}
                    then ln(close_price / previous_close_price)
            end
        ) as realized_volatility_1m
    from minute_closes
    group by symbol, trade_date
)

select
    cast(day_quotes.symbol as varchar) as symbol,
    cast(day_quotes.trade_date as date) as trade_date,
    cast(round(coalesce(day_quotes.finnhub_open, day_quotes.first_price), 2) as double) as open_price,
    cast(round(greatest(coalesce(day_quotes.finnhub_high, day_quotes.observed_high), day_quotes.observed_high), 2)
        as double) as day_high,
    cast(round(least(coalesce(day_quotes.finnhub_low, day_quotes.observed_low), day_quotes.observed_low), 2)
        as double) as day_low,
    cast(day_quotes.close_price as double) as close_price,
    cast(day_quotes.prev_close as double) as prev_close,
    cast(round(day_quotes.close_price - day_quotes.prev_close, 2) as double) as change_amount,
    cast(round(100 * (day_quotes.close_price - day_quotes.prev_close) / day_quotes.prev_close, 4) as double)
        as change_percent,
    cast(day_quotes.quote_count as bigint) as quote_count,
    cast(coalesce(day_volatility.minutes_with_quotes, 0) as bigint) as minutes_with_quotes,
    cast(day_volatility.realized_volatility_1m as double) as realized_volatility_1m,
    cast(day_quotes.first_quote_at as {{ dbt.type_timestamp() }}) as first_quote_at,
    cast(day_quotes.last_quote_at as {{ dbt.type_timestamp() }}) as last_quote_at,
    cast(day_quotes.last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at,
    cast(day_quotes.close_feed as varchar) as feed,
    cast(day_quotes.close_source as varchar) as source,
    cast(day_quotes.feeds as varchar) as feeds
from day_quotes
left join day_volatility
    on day_quotes.symbol = day_volatility.symbol
    and day_quotes.trade_date = day_volatility.trade_date

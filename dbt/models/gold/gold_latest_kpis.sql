-- Grain: one row per symbol, as of the build. The latest quote (from gold_kpi) with indicators over the
-- symbol's most recent 1-minute candles:
--   sma_5 / sma_20: mean close of the last 5 / 20 candles (NULL until that many candles exist);
--   realized_volatility_30m: sample stddev of log returns between consecutive minutes among the last 30
--   candles (not annualised);
--   gainer_rank / loser_rank: rank by percent change since the previous close (1 = best / worst);
--   staleness_seconds: build time minus the quote time; is_stale when above var stale_after_seconds.

with latest as (
    select * from {{ ref('gold_kpi') }}
),

recent_candles as (
    select
        symbol,
        candle_minute,
        close_price,
        row_number() over (partition by symbol order by candle_minute desc) as minutes_back
    from {{ ref('gold_candles_1m') }}
    qualify row_number() over (partition by symbol order by candle_minute desc) <= 30
),

recent_returns as (
    select
        symbol,
        minutes_back,
        close_price,
        case
            when lag(candle_minute) over (partition by symbol order by candle_minute)
                = {{ dbt.dateadd('minute', -1, 'candle_minute') }}
                then ln(close_price / lag(close_price) over (partition by symbol order by candle_minute))
        end as log_return
    from recent_candles
),

indicators as (
    select
        symbol,
        case when count(case when minutes_back <= 5 then 1 end) = 5
            then avg(case when minutes_back <= 5 then close_price end) end as sma_5,
        case when count(case when minutes_back <= 20 then 1 end) = 20
            then avg(case when minutes_back <= 20 then close_price end) end as sma_20,
        stddev_samp(log_return) as realized_volatility_30m,
        count(*) as candles_considered
    from recent_returns
    group by symbol
),

as_of as (
    select {{ utc_now() }} as built_at
)

select
    cast(latest.symbol as varchar) as symbol,
    cast(latest.current_price as double) as current_price,
    cast(latest.change_amount as double) as change_amount,
    cast(latest.change_percent as double) as change_percent,
    cast(latest.day_high as double) as day_high,
    cast(latest.day_low as double) as day_low,
    cast(latest.day_open as double) as day_open,
    cast(latest.prev_close as double) as prev_close,
    cast(round(indicators.sma_5, 4) as double) as sma_5,
    cast(round(indicators.sma_20, 4) as double) as sma_20,
    cast(indicators.realized_volatility_30m as double) as realized_volatility_30m,
    cast(rank() over (order by latest.change_percent desc nulls last) as bigint) as gainer_rank,
    cast(rank() over (order by latest.change_percent asc nulls last) as bigint) as loser_rank,
    cast(latest.market_timestamp as {{ dbt.type_timestamp() }}) as market_timestamp,
    cast({{ dbt.datediff('latest.market_timestamp', 'as_of.built_at', 'second') }} as bigint) as staleness_seconds,
    cast(
        {{ dbt.datediff('latest.market_timestamp', 'as_of.built_at', 'second') }} > {{ var('stale_after_seconds') }}
        as boolean
    ) as is_stale,
    cast(as_of.built_at as {{ dbt.type_timestamp() }}) as as_of,
    cast(latest.feed as varchar) as feed,
    cast(latest.source as varchar) as source,
    cast(latest.feeds as varchar) as feeds
from latest
cross join as_of
left join indicators
    on latest.symbol = indicators.symbol

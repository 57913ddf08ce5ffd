-- Grain: one row per symbol. The original's GOLD_TREECHART for its Power BI report:
--   avg_price: mean price over the symbol's latest market day (the UTC date of its newest quote);
--   volatility: population standard deviation of the price over all of the symbol's history;
--   relative_volatility: volatility / avg_price.
-- Prices are silver's quotes (one per (symbol, t), so a quote seen by two feeds counts once).

with quotes as (
    select
        symbol,
        cast(market_timestamp as date) as trade_date,
        current_price,
        feed
    from {{ ref('silver_clean_stock_quotes') }}
),

latest_day as (
    select symbol, max(trade_date) as latest_market_day
    from quotes
    group by symbol
),

per_symbol as (
    select
        quotes.symbol,
        max(latest_day.latest_market_day) as latest_market_day,
        avg(case when quotes.trade_date = latest_day.latest_market_day then quotes.current_price end) as avg_price,
        stddev_pop(quotes.current_price) as volatility,
        count(*) as quote_count,
        {{ sorted_distinct_list('quotes.feed') }} as feeds
    from quotes
    inner join latest_day
        on quotes.symbol = latest_day.symbol
    group by quotes.symbol
)

select
    cast(per_symbol.symbol as varchar) as symbol,
    cast(dim.company_name as varchar) as company_name,
    cast(dim.sector as varchar) as sector,
    cast(per_symbol.latest_market_day as date) as latest_market_day,
    cast(per_symbol.avg_price as double) as avg_price,
    cast(per_symbol.volatility as double) as volatility,
    cast(per_symbol.volatility / nullif(per_symbol.avg_price, 0) as double) as relative_volatility,
    cast(per_symbol.quote_count as bigint) as quote_count,
    cast(per_symbol.feeds as varchar) as feeds
from per_symbol
left join {{ ref('dim_symbol') }} as dim
    on per_symbol.symbol = dim.symbol

-- Grain: one row per symbol — its latest quote (greatest quote time t). The original project's gold table:
-- latest price, change and percent change since the previous close, with the day's range.
select
    cast(symbol as varchar) as symbol,
    cast(current_price as double) as current_price,
    cast(change_amount as double) as change_amount,
    cast(change_percent as double) as change_percent,
    cast(day_high as double) as day_high,
    cast(day_low as double) as day_low,
    cast(day_open as double) as day_open,
    cast(prev_close as double) as prev_close,
    cast(market_timestamp as {{ dbt.type_timestamp() }}) as market_timestamp,
    cast(fetched_at as {{ dbt.type_timestamp() }}) as fetched_at,
    -- lineage: the feed and source of the quote's winning copy, and every feed that saw it (silver's rule)
    cast(feed as varchar) as feed,
    cast(source as varchar) as source,
    cast(feeds as varchar) as feeds
from {{ ref('silver_clean_stock_quotes') }}
qualify row_number() over (partition by symbol order by t desc) = 1

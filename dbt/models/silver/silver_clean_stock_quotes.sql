{{ config(unique_key=['symbol', 't']) }}
-- depends_on: {{ ref('silver_clean_trades') }}
-- (runs after the trades' silver model, which reads this table's watermark as the previous run left it)
-- Grain: one row per quote, natural key (symbol, t) — t is Finnhub's quote time, which only advances when the
-- quote changes, so a quote polled five times or delivered twice is still one row here. The first sighting
-- (earliest fetched_at) is kept and never overwritten by later copies.
-- Several feeds (StockFeeds) may quote the same symbol: still one row per (symbol, t) whatever the feed. The
-- values (and `feed`, `source`) are those of the first sighting across feeds (earliest fetched_at, then
-- loaded_at, object_key, feed); `feeds` lists the feeds that saw the quote in the run that stored it (sorted,
-- comma-separated). A copy from another feed arriving in a later run is ignored like any other copy, so a
-- stored row never changes (see dbt/README.md, "Several feeds").
-- Cleaned and rounded as the original: prices and change to cents, percent change to 4 places. Zero quotes
-- (Finnhub's answer for an unknown symbol: c = 0, t = 0) and rows without a price or time are dropped; rows with
-- times bronze refused to convert are left to bronze_quarantine.

with new_rows as (
    select *
    from {{ ref('bronze_stg_stock_quotes') }}
    {% if is_incremental() -%}
    where {{ loaded_since_watermark('loaded_at') }}
    {%- endif %}
),

cleaned as (
    select
        upper(trim(symbol)) as symbol,
        t,
        market_timestamp,
        round(current_price, 2) as current_price,
        -- Finnhub leaves d/dp null at times; both follow from the previous close when it is known.
        round(coalesce(change_amount, current_price - nullif(prev_close, 0)), 2) as change_amount,
        round(coalesce(change_percent, 100 * (current_price - nullif(prev_close, 0)) / nullif(prev_close, 0)), 4)
            as change_percent,
        -- 0 means "unknown" in Finnhub's quote fields.
        round(nullif(day_high, 0), 2) as day_high,
        round(nullif(day_low, 0), 2) as day_low,
        round(nullif(day_open, 0), 2) as day_open,
        round(nullif(prev_close, 0), 2) as prev_close,
        fetched_at,
        source,
        feed,
        object_key,
        loaded_at
    from new_rows
    where current_price > 0
      and t > 0
      and nullif(trim(symbol), '') is not null
      and quarantine_reason is null  -- unconvertible times: see bronze_quarantine
),

feeds_seen as (
    select symbol, t, {{ sorted_distinct_list('feed') }} as feeds
    from cleaned
    group by symbol, t
),

first_sighting as (
    select cleaned.*, feeds_seen.feeds
    from cleaned
    inner join feeds_seen
        on cleaned.symbol = feeds_seen.symbol
        and cleaned.t = feeds_seen.t
    qualify row_number() over (
        partition by cleaned.symbol, cleaned.t
        order by cleaned.fetched_at nulls last, cleaned.loaded_at, cleaned.object_key, cleaned.feed nulls last
    ) = 1
)

select
    symbol,
    t,
    market_timestamp,
    current_price,
    change_amount,
    change_percent,
    day_high,
    day_low,
    day_open,
    prev_close,
    fetched_at,
    source,
    feed,
    feeds,
    object_key,
    loaded_at
from first_sighting as batch
{% if is_incremental() -%}
-- Already stored quotes stay as first seen; the merge on (symbol, t) then only inserts.
where {{ not_stored_yet(['symbol', 't'], 'market_timestamp') }}
{%- endif %}

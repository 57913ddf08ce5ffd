-- Grain: one row per raw message (quote or trade, duplicates included) that bronze refused to convert, with the
-- reason: a t or fetched_at outside the contracts' window (2000-01-01..2100-01-01 UTC) or far ahead of the clock
-- (var max_clock_lead_seconds), or a t that is not a whole number. Such rows never reach silver, and the rest of
-- the data keeps flowing. Kept as text (raw_t, raw_fetched_at) as loaded; object_key names the bronze object.
select
    'quote.v1' as schema_version,
    symbol,
    quarantine_reason as reason,
    raw_t,
    raw_fetched_at,
    object_key,
    loaded_at
from {{ ref('bronze_stg_stock_quotes') }}
where quarantine_reason is not null

union all

select
    'trade.v1' as schema_version,
    symbol,
    quarantine_reason as reason,
    raw_t,
    raw_fetched_at,
    object_key,
    loaded_at
from {{ ref('bronze_stg_trades') }}
where quarantine_reason is not null

-- Grain: one row per raw quote message, as loaded (duplicates included). The JSON parsed into typed columns
-- with the original project's names; filtering and deduplication happen in silver.
-- Times are checked before they are converted (macros/epoch_checks.sql): a row whose t or fetched_at lies outside
-- the contract's window or far ahead of the clock gets a quarantine_reason and NULL times instead of failing the
-- build; silver skips it and bronze_quarantine shows it.
with raw_messages as (
    select
        v,
        object_key,
        loaded_at,
        {{ json_field('v', 'schema_version') }} as schema_version,
        {{ json_field('v', 'symbol') }} as symbol,
        {{ json_field('v', 't', 'double') }} as t_number,
        {{ json_field('v', 'fetched_at', 'double') }} as fetched_at_number
    from {{ source('raw', 'bronze_stock_quotes_raw') }}
),

checked as (
    select
        *,
        coalesce({{ epoch_problem('t_number', 't') }}, {{ epoch_problem('fetched_at_number', 'fetched_at') }})
            as quarantine_reason
    from raw_messages
    -- The original project's quotes carry no schema_version: a message with a symbol and no version is a quote.
    where schema_version = 'quote.v1'
       or (schema_version is null and symbol is not null)
)

select
    symbol,
    {{ json_field('v', 'c', 'double') }} as current_price,
    {{ json_field('v', 'd', 'double') }} as change_amount,
    {{ json_field('v', 'dp', 'double') }} as change_percent,
    {{ json_field('v', 'h', 'double') }} as day_high,
    {{ json_field('v', 'l', 'double') }} as day_low,
    {{ json_field('v', 'o', 'double') }} as day_open,
    {{ json_field('v', 'pc', 'double') }} as prev_close,
    case when quarantine_reason is null then cast(t_number as bigint) end as t,
    {{ epoch_to_timestamp('case when quarantine_reason is null then cast(t_number as bigint) end') }}
        as market_timestamp,
    {{ epoch_to_timestamp('case when quarantine_reason is null then fetched_at_number end') }} as fetched_at,
    coalesce(schema_version, 'quote.v1') as schema_version,
    {{ json_field('v', 'source') }} as source,
    {{ json_field('v', 'feed') }} as feed,
    object_key,
    cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
    quarantine_reason,
    {{ json_field('v', 't') }} as raw_t,
    {{ json_field('v', 'fetched_at') }} as raw_fetched_at
from checked

-- Grain: one row per raw quote message, as loaded (duplicates included). The JSON parsed into typed columns
-- with the original project's names; filtering and deduplication happen in silver.
with raw_messages as (
    select
        v,
        object_key,
        loaded_at,
        {{ json_field('v', 'schema_version') }} as schema_version,
        {{ json_field('v', 'symbol') }} as symbol
    from {{ source('raw', 'bronze_stock_quotes_raw') }}
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
    {{ json_field('v', 't', 'bigint') }} as t,
    {{ epoch_to_timestamp(json_field('v', 't', 'bigint')) }} as market_timestamp,
    {{ epoch_to_timestamp(json_field('v', 'fetched_at', 'double')) }} as fetched_at,
    coalesce(schema_version, 'quote.v1') as schema_version,
    {{ json_field('v', 'source') }} as source,
    {{ json_field('v', 'feed') }} as feed,
    object_key,
    cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
from raw_messages
-- The original project's quotes carry no schema_version: a message with a symbol and no version is a quote.
where schema_version = 'quote.v1'
   or (schema_version is null and symbol is not null)

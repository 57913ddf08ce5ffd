-- Grain: one row per raw trade message (trade.v1), as loaded (duplicates included). Finnhub's trade fields
-- s p t v c get readable names; t is in milliseconds. Empty while no trades are streamed.
select
    {{ json_field('v', 's') }} as symbol,
    {{ json_field('v', 'p', 'double') }} as price,
    {{ json_field('v', 'v', 'double') }} as volume,
    {{ json_field('v', 't', 'bigint') }} as trade_ms,
    {{ epoch_to_timestamp(json_field('v', 't', 'bigint'), 'ms') }} as trade_timestamp,
    {{ json_text('v', 'c') }} as conditions,
    {{ epoch_to_timestamp(json_field('v', 'fetched_at', 'double')) }} as fetched_at,
    {{ json_field('v', 'source') }} as source,
    {{ json_field('v', 'feed') }} as feed,
    object_key,
    cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
from {{ source('raw', 'bronze_stock_quotes_raw') }}
where {{ json_field('v', 'schema_version') }} = 'trade.v1'

-- Grain: one row per raw trade message (trade.v1), as loaded (duplicates included). Finnhub's trade fields
-- s p t v c get readable names; t is in milliseconds. Empty while no trades are streamed.
-- Times are checked before they are converted (macros/epoch_checks.sql), as for quotes: a row with a bad t or
-- fetched_at gets a quarantine_reason and NULL times; silver skips it and bronze_quarantine shows it.
with raw_messages as (
    select
        v,
        object_key,
        loaded_at,
        {{ json_field('v', 't', 'double') }} as t_number,
        {{ json_field('v', 'fetched_at', 'double') }} as fetched_at_number
    from {{ source('raw', 'bronze_stock_quotes_raw') }}
    where {{ json_field('v', 'schema_version') }} = 'trade.v1'
),

checked as (
    select
        *,
        coalesce({{ epoch_problem('t_number', 't', 'ms') }}, {{ epoch_problem('fetched_at_number', 'fetched_at') }})
            as quarantine_reason
    from raw_messages
)

select
    {{ json_field('v', 's') }} as symbol,
    {{ json_field('v', 'p', 'double') }} as price,
    {{ json_field('v', 'v', 'double') }} as volume,
    case when quarantine_reason is null then cast(t_number as bigint) end as trade_ms,
    {{ epoch_to_timestamp('case when quarantine_reason is null then cast(t_number as bigint) end', 'ms') }}
        as trade_timestamp,
    {{ json_text('v', 'c') }} as conditions,
    {{ epoch_to_timestamp('case when quarantine_reason is null then fetched_at_number end') }} as fetched_at,
    {{ json_field('v', 'source') }} as source,
    {{ json_field('v', 'feed') }} as feed,
    object_key,
    cast(loaded_at as {{ dbt.type_timestamp() }}) as loaded_at,
    quarantine_reason,
    {{ json_field('v', 't') }} as raw_t,
    {{ json_field('v', 'fetched_at') }} as raw_fetched_at
from checked

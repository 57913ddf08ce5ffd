-- Grain: one row per symbol — every symbol of the reference list (seed `symbols`) plus every symbol seen in
-- quotes or trades, so facts always find their dimension row. Symbols outside the list get 'Unknown'
-- attributes and is_reference_listed = false.
with listed as (
    select
        upper(trim(symbol)) as symbol,
        company_name,
        exchange,
        currency,
        sector
    from {{ ref('symbols') }}
),

seen as (
    select distinct symbol from {{ ref('silver_clean_stock_quotes') }}
    union
    select distinct symbol from {{ ref('silver_clean_trades') }}
),

all_symbols as (
    select symbol from listed
    union
    select symbol from seen
)

select
    cast(all_symbols.symbol as varchar) as symbol,
    cast(coalesce(listed.company_name, all_symbols.symbol) as varchar) as company_name,
    cast(coalesce(listed.exchange, 'Unknown') as varchar) as exchange,
    cast(coalesce(listed.currency, 'Unknown') as varchar) as currency,
    cast(coalesce(listed.sector, 'Unknown') as varchar) as sector,
    cast(listed.symbol is not null as boolean) as is_reference_listed
from all_symbols
left join listed
    on all_symbols.symbol = listed.symbol

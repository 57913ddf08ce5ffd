-- Grain: one row per symbol. The original's COMPANY_STOCKS table for its Power BI report: company name, sector
-- and P/E ratio from the user's company_stocks.csv (source static.static_company_stocks, loaded by
-- stockfeed-load-static), names and sectors missing from the file filled in from dim_symbol. Without a file
-- (table absent or empty), dim_symbol is the fallback: every known symbol, P/E ratio NULL.
{%- set supplied_relation = load_relation(source('static', 'static_company_stocks')) if execute else none %}

with dim as (
    select symbol, company_name, sector from {{ ref('dim_symbol') }}
),

supplied as (
    {% if supplied_relation is not none -%}
    select
        upper(trim(symbol)) as symbol,
        nullif(trim(company_name), '') as company_name,
        nullif(trim(sector), '') as sector,
        cast(p_e_ratio as double) as p_e_ratio
    from {{ supplied_relation }}
    where nullif(trim(symbol), '') is not null
    {%- else -%}
    select
        cast(null as varchar) as symbol,
        cast(null as varchar) as company_name,
        cast(null as varchar) as sector,
        cast(null as double) as p_e_ratio
    where 1 = 0
    {%- endif %}
),

from_file as (
    select
        supplied.symbol,
        coalesce(supplied.company_name, dim.company_name, supplied.symbol) as company_name,
        coalesce(supplied.sector, dim.sector) as sector,
        supplied.p_e_ratio,
        'company_stocks.csv' as reference_source
    from supplied
    left join dim
        on supplied.symbol = dim.symbol
),

fallback as (
    select
        dim.symbol,
        dim.company_name,
        dim.sector,
        cast(null as double) as p_e_ratio,
        'dim_symbol' as reference_source
    from dim
    where not exists (select 1 from supplied)
),

combined as (
    select * from from_file
    union all
    select * from fallback
)

select
    cast(symbol as varchar) as symbol,
    cast(company_name as varchar) as company_name,
    cast(sector as varchar) as sector,
    cast(p_e_ratio as double) as p_e_ratio,
    cast(reference_source as varchar) as reference_source
from combined

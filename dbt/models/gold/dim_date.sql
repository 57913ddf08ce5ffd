-- Grain: one row per calendar date, from January 1 of var date_dimension_first_year to December 31 of the build
-- year plus var date_dimension_years_ahead — Power BI's date table (mark it as one) for trade_date and friends.
{%- set first_year = var('date_dimension_first_year') | int -%}
{%- set last_year = modules.datetime.date.today().year + (var('date_dimension_years_ahead') | int) -%}
{%- set first_day = modules.datetime.date(first_year, 1, 1) -%}
{%- set day_count = (modules.datetime.date(last_year, 12, 31) - first_day).days + 1 -%}
{%- if day_count > 100000 -%}
  {{ exceptions.raise_compiler_error("dim_date: more than 100000 days requested") }}
{%- endif -%}
{%- set month_names = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
                       'October', 'November', 'December'] -%}
{%- set day_names = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] %}

with digits as (
    {% for digit in range(10) -%}
    select {{ digit }} as d{% if not loop.last %} union all{% endif %}
    {% endfor %}
),

day_numbers as (
    select
        ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d + 10000 * ten_thousands.d as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

days as (
    select cast({{ dbt.dateadd('day', 'day_number', "cast('" ~ first_day ~ "' as date)") }} as date) as date_day
    from day_numbers
    where day_number < {{ day_count }}
),

parts as (
    select
        date_day,
        cast(extract(year from date_day) as bigint) as year_number,
        cast(extract(quarter from date_day) as bigint) as quarter_number,
        cast(extract(month from date_day) as bigint) as month_number,
        cast(extract(day from date_day) as bigint) as day_of_month,
        cast(dayofyear(date_day) as bigint) as day_of_year,
        cast({{ iso_day_of_week('date_day') }} as bigint) as iso_day_of_week,
        cast({{ iso_week('date_day') }} as bigint) as iso_week_number
    from days
)

select
    cast(date_day as date) as date_day,
    year_number,
    quarter_number,
    month_number,
    cast(case month_number
        {%- for name in month_names %} when {{ loop.index }} then '{{ name }}'{% endfor %}
    end as varchar) as month_name,
    -- e.g. 2026-11: sorts correctly as text
    cast(cast(year_number as varchar) || '-' || case when month_number < 10 then '0' else '' end
        || cast(month_number as varchar) as varchar) as year_month,
    day_of_month,
    day_of_year,
    iso_day_of_week,
    cast(case iso_day_of_week
        {%- for name in day_names %} when {{ loop.index }} then '{{ name }}'{% endfor %}
    end as varchar) as day_name,
    iso_week_number,
    cast(iso_day_of_week >= 6 as boolean) as is_weekend
from parts

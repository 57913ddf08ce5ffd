-- Grain: one row per review of the user's company_reviews.csv (source static.static_company_reviews, loaded by
-- stockfeed-load-static). The original's COMPANY_REVIEWS_CLEANED for its Power BI report: RATING parsed from
-- the review as written ("4.2/5 - text"), REVIEW the text after it, sentiment_score its polarity in [-1, 1]
-- (a lexicon score computed by the loader: services/loader/src/stockfeed_loader/sentiment.py). The original
-- wrote sentiment_score in lower case (a quoted name on Snowflake), so it is quoted here too. Empty without
-- a file.
{%- set supplied_relation = load_relation(source('static', 'static_company_reviews')) if execute else none %}

with supplied as (
    {% if supplied_relation is not none -%}
    select
        upper(trim(symbol)) as symbol,
        nullif(trim(company_name), '') as company_name,
        rating,
        review,
        sentiment_score
    from {{ supplied_relation }}
    where nullif(trim(symbol), '') is not null
    {%- else -%}
    select
        cast(null as varchar) as symbol,
        cast(null as varchar) as company_name,
        cast(null as double) as rating,
        cast(null as varchar) as review,
        cast(null as double) as sentiment_score
    where 1 = 0
    {%- endif %}
)

select
    cast(supplied.symbol as varchar) as symbol,
    cast(coalesce(supplied.company_name, companies.company_name, supplied.symbol) as varchar) as company_name,
    cast(supplied.rating as double) as rating,
    cast(supplied.review as varchar) as review,
    cast(supplied.sentiment_score as double) as {{ adapter.quote('sentiment_score') }}
from supplied
left join {{ ref('company_stocks') }} as companies
    on supplied.symbol = companies.symbol

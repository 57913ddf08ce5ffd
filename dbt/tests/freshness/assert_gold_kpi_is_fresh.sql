-- The DAG's last step (`dbt test --select tag:freshness`): fails loudly when the newest quote the platform
-- received (fetched_at) that reached gold_kpi is older than var freshness_max_age_seconds. 0 turns the check
-- off, e.g. with Finnhub outside market hours, when no new quotes arrive by design.
-- Excluded from `dbt build` (the DAG passes --exclude tag:freshness) so a quiet market never blocks the build.
{{ config(tags=['freshness'], severity='error') }}

{% set max_age = var('freshness_max_age_seconds', 600) | int %}

with newest as (
    select max(fetched_at) as newest_fetched_at from {{ ref('gold_kpi') }}
)

select
    newest_fetched_at,
    {{ dbt.datediff('newest_fetched_at', utc_now(), 'second') }} as age_seconds
from newest
where {{ max_age }} > 0
  and (
      newest_fetched_at is null
      or {{ dbt.datediff('newest_fetched_at', utc_now(), 'second') }} > {{ max_age }}
  )

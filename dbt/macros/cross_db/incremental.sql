{#-
  The incremental watermark shared by silver and gold: rows loaded since the newest `target_column` already in
  the target, minus a lookback (var incremental_lookback_minutes) for loads that committed late. Re-reading a
  few minutes is cheap, and every incremental model here merges on its key, so it is also harmless.

  `fallback_relation`: where to take the watermark from while the target is still empty (see
  silver_clean_trades); without one, an empty target reads everything.
-#}
{% macro loaded_since_watermark(loaded_at_expr, target_column='loaded_at', fallback_relation=none) -%}
  {%- set lookback = -1 * var('incremental_lookback_minutes') | int -%}
  {{ loaded_at_expr }} >= (
    select coalesce(
      {{ dbt.dateadd('minute', lookback, 'max(' ~ target_column ~ ')') }},
      {%- if fallback_relation is not none %}
      (select {{ dbt.dateadd('minute', lookback, 'max(loaded_at)') }} from {{ fallback_relation }}),
      {%- endif %}
      cast('1900-01-01' as {{ dbt.type_timestamp() }})
    )
    from {{ this }}
  )
{%- endmacro %}

{#-
  Rows of `batch` whose natural key is not stored in the target yet: silver keeps the first sighting, so the
  merge only ever inserts. `since_column` bounds the probe to stored rows no older than the batch (the key
  includes the time, so older rows cannot match), which keeps it from scanning all history.
-#}
{% macro not_stored_yet(key_columns, since_column, batch='batch', batch_relation='first_sighting') -%}
not exists (
    select 1
    from {{ this }} as stored
    where
      {%- for column in key_columns %}
      stored.{{ column }} = {{ batch }}.{{ column }} and
      {%- endfor %}
      stored.{{ since_column }} >= (select min({{ since_column }}) from {{ batch_relation }})
)
{%- endmacro %}

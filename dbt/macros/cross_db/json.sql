{#-
  Reading the raw messages: one top-level field of a JSON (DuckDB) / VARIANT (Snowflake) column.
  Absent fields, JSON nulls and values that do not convert all give SQL NULL, so one malformed message
  cannot fail a build; silver decides what to keep.
-#}

{#- A scalar field as `data_type` (varchar, double, bigint, ...). -#}
{% macro json_field(json_column, key, data_type='varchar') -%}
  {{ return(adapter.dispatch('json_field', 'stockfeed')(json_column, key, data_type)) }}
{%- endmacro %}

{% macro duckdb__json_field(json_column, key, data_type) -%}
  {%- if data_type == 'varchar' -%}
    ({{ json_column }} ->> '$.{{ key }}')
  {%- else -%}
    try_cast({{ json_column }} ->> '$.{{ key }}' as {{ data_type }})
  {%- endif -%}
{%- endmacro %}

{% macro snowflake__json_field(json_column, key, data_type) -%}
  {#- TRY_CAST accepts only strings on Snowflake, hence the detour through varchar. -#}
  {%- if data_type == 'varchar' -%}
    {{ json_column }}:{{ key }}::varchar
  {%- else -%}
    try_cast({{ json_column }}:{{ key }}::varchar as {{ data_type }})
  {%- endif -%}
{%- endmacro %}

{% macro default__json_field(json_column, key, data_type) -%}
  {{ exceptions.raise_compiler_error("json_field: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- A field serialised back to compact JSON text (arrays, objects); NULL when absent. -#}
{% macro json_text(json_column, key) -%}
  {{ return(adapter.dispatch('json_text', 'stockfeed')(json_column, key)) }}
{%- endmacro %}

{% macro duckdb__json_text(json_column, key) -%}
  cast(json_extract({{ json_column }}, '$.{{ key }}') as varchar)
{%- endmacro %}

{% macro snowflake__json_text(json_column, key) -%}
  to_json({{ json_column }}:{{ key }})
{%- endmacro %}

{% macro default__json_text(json_column, key) -%}
  {{ exceptions.raise_compiler_error("json_text: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

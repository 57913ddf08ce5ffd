{#-
  Lists as text. `sorted_distinct_list(expr)` is an aggregate: the distinct non-null values of `expr` in the
  group, sorted, joined by `delimiter` (e.g. 'quotes,trades'); NULL when the group has no non-null value.
  Plain text works the same in DuckDB, Snowflake and Power BI (no ARRAY/VARIANT mapping to worry about).
-#}
{% macro sorted_distinct_list(expr, delimiter=',') -%}
  {{ return(adapter.dispatch('sorted_distinct_list', 'stockfeed')(expr, delimiter)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_list(expr, delimiter) -%}
  string_agg(distinct {{ expr }}, '{{ delimiter }}' order by {{ expr }})
{%- endmacro %}

{% macro snowflake__sorted_distinct_list(expr, delimiter) -%}
  listagg(distinct {{ expr }}, '{{ delimiter }}') within group (order by {{ expr }})
{%- endmacro %}

{% macro default__sorted_distinct_list(expr, delimiter) -%}
  {{ exceptions.raise_compiler_error("sorted_distinct_list: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

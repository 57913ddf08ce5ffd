{#- The condition "value lies outside [min_value, max_value]" (the open interval: inclusive=false); NULL passes. -#}
{% macro out_of_range(column, min_value, max_value, inclusive) -%}
{%- if min_value is none and max_value is none -%}
  {{ exceptions.raise_compiler_error("range test on " ~ column ~ ": give min_value, max_value or both") }}
{%- endif -%}
{%- set lower_op = '>=' if inclusive else '>' -%}
{%- set upper_op = '<=' if inclusive else '<' -%}
{{ column }} is not null
  and not (
    {%- if min_value is not none %} {{ column }} {{ lower_op }} {{ min_value }}{% endif %}
    {%- if min_value is not none and max_value is not none %} and{% endif %}
    {%- if max_value is not none %} {{ column }} {{ upper_op }} {{ max_value }}{% endif %}
  )
{%- endmacro %}

{#- Every non-null value of the column lies in [min_value, max_value] (or the open interval: inclusive=false). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select {{ column_name }}
from {{ model }}
where {{ out_of_range(column_name, min_value, max_value, inclusive) }}
{% endtest %}

{#- accepted_range for several columns with the same bounds, in one query (one test fewer per column, each
    minute); a failing row names its column. -#}
{% test columns_in_range(model, columns, min_value=none, max_value=none, inclusive=true) %}
{%- for column in columns %}
select '{{ column }}' as column_name, cast({{ column }} as {{ dbt.type_float() }}) as bad_value
from {{ model }}
where {{ out_of_range(column, min_value, max_value, inclusive) }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
{% endtest %}

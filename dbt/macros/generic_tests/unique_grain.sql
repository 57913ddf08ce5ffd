{#- The model has at most one row per combination of `columns` (its stated grain); NULL keys count as values. -#}
{% test unique_grain(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_per_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

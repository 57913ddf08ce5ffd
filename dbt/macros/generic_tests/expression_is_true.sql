{#- A boolean SQL expression over the model's columns holds on every row (a NULL result counts as a failure). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}

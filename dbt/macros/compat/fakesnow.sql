{#-
  Compatibility with the fakesnow test server (Snowflake emulated on DuckDB) — tests only.

  Off unless DBT_FAKESNOW_COMPAT=true AND the target's account is `fakesnow`, so it can never change what runs
  on a real Snowflake account. What it covers: dbt-snowflake's second (merge) incremental run and unit tests,
  which fakesnow cannot execute as Snowflake would because
    1. temporary relations (the incremental run's new rows, a unit test's scratch table) are created
       database.schema-qualified, and fakesnow only accepts them unqualified — but then cannot describe them;
    2. the MERGE is wrapped in an explicit BEGIN ... COMMIT, and fakesnow fails on MERGE inside a transaction;
       its MERGE emulation also cannot resolve the unqualified column names of the INSERT VALUES clause.
  Each override hooks into a macro dispatched through the `dbt` namespace, where the root project's version
  wins, and with compat off hands over to dbt's own implementation (default__...) unchanged.
-#}

{% macro fakesnow_compat_enabled() -%}
  {{ return(
      target.type == 'snowflake'
      and (target.account | lower) == 'fakesnow'
      and (env_var('DBT_FAKESNOW_COMPAT', 'false') | lower) in ('1', 'true', 'yes')
  ) }}
{%- endmacro %}


{#- The incremental run's temporary view of new rows: fakesnow only accepts temporary relations unqualified.
    (Unit tests keep theirs qualified: fakesnow cannot describe an unqualified temporary table.) -#}
{% macro snowflake__make_temp_relation(base_relation, suffix='__dbt_tmp') -%}
  {%- set temp_relation = default__make_temp_relation(base_relation, suffix) -%}
  {%- if fakesnow_compat_enabled() and model.resource_type != 'unit_test' -%}
    {{ return(temp_relation.incorporate(path={'database': none, 'schema': none})) }}
  {%- endif -%}
  {{ return(temp_relation) }}
{%- endmacro %}


{#- A unit test's scratch table: a plain table in the target schema on fakesnow (the unit test drops it). -#}
{% macro snowflake__get_create_table_as_sql(temporary, relation, sql) -%}
  {%- if fakesnow_compat_enabled() and temporary -%}
    {{ return(create_table_as(False, relation, sql)) }}
  {%- endif -%}
  {{ return(default__get_create_table_as_sql(temporary, relation, sql)) }}
{%- endmacro %}


{#- The merge strategy. Real Snowflake: dbt's own (default__ -> snowflake__get_merge_sql, in a transaction).
    fakesnow: the same MERGE with source-qualified INSERT values and no BEGIN/COMMIT. -#}
{% macro snowflake__get_incremental_merge_sql(arg_dict) -%}
  {%- if fakesnow_compat_enabled() and arg_dict['unique_key'] is not none -%}
    {{ return(fakesnow_merge_sql(arg_dict)) }}
  {%- endif -%}
  {{ return(default__get_incremental_merge_sql(arg_dict)) }}
{%- endmacro %}


{% macro fakesnow_merge_sql(arg_dict) -%}
  {%- set unique_key = arg_dict['unique_key'] -%}
  {%- set keys = [unique_key] if unique_key is string else unique_key -%}
  {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | map('upper') | list -%}
  {%- set predicates = arg_dict['incremental_predicates'] or [] -%}
  merge into {{ arg_dict['target_relation'] }} as DBT_INTERNAL_DEST
  using {{ arg_dict['temp_relation'] }} as DBT_INTERNAL_SOURCE
  on {% for key in keys -%}
    DBT_INTERNAL_SOURCE.{{ key }} = DBT_INTERNAL_DEST.{{ key }}{% if not loop.last %} and {% endif %}
  {%- endfor %}
  {%- for predicate in predicates %} and ({{ predicate }}){% endfor %}
  when matched then update set
  {%- for column in columns %}
    {{ adapter.quote(column) }} = DBT_INTERNAL_SOURCE.{{ adapter.quote(column) }}{% if not loop.last %},{% endif %}
  {%- endfor %}
  when not matched then insert ({{ get_quoted_csv(columns) }})
  values (
  {%- for column in columns -%}
    DBT_INTERNAL_SOURCE.{{ adapter.quote(column) }}{% if not loop.last %}, {% endif %}
  {%- endfor -%}
  )
{%- endmacro %}

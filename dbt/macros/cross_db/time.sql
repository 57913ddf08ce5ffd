{#-
  Time handling. Every timestamp in this project is a plain (time-zone-less) timestamp in UTC: DuckDB
  TIMESTAMP, Snowflake TIMESTAMP_NTZ. DuckDB's to_timestamp() would give a TIMESTAMPTZ, which breaks contracts,
  so epochs go through make_timestamp (microseconds) instead.
-#}

{#- UNIX epoch (unit 's' seconds, fractions kept to the microsecond; or 'ms' milliseconds) to a UTC timestamp. -#}
{% macro epoch_to_timestamp(epoch, unit='s') -%}
  {%- if unit not in ('s', 'ms') -%}
    {{ exceptions.raise_compiler_error("epoch_to_timestamp: unit must be 's' or 'ms', not " ~ unit) }}
  {%- endif -%}
  {{ return(adapter.dispatch('epoch_to_timestamp', 'stockfeed')(epoch, unit)) }}
{%- endmacro %}

{% macro duckdb__epoch_to_timestamp(epoch, unit) -%}
  {%- if unit == 'ms' -%}
    make_timestamp(cast({{ epoch }} as bigint) * 1000)
  {%- else -%}
    make_timestamp(cast(round({{ epoch }} * 1000000) as bigint))
  {%- endif -%}
{%- endmacro %}

{% macro snowflake__epoch_to_timestamp(epoch, unit) -%}
  {%- if unit == 'ms' -%}
    to_timestamp_ntz(cast({{ epoch }} as bigint), 3)
  {%- else -%}
    to_timestamp_ntz(cast(round({{ epoch }} * 1000000) as bigint), 6)
  {%- endif -%}
{%- endmacro %}

{% macro default__epoch_to_timestamp(epoch, unit) -%}
  {{ exceptions.raise_compiler_error("epoch_to_timestamp: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- The current time in UTC, as a plain timestamp. -#}
{% macro utc_now() -%}
  {{ return(adapter.dispatch('utc_now', 'stockfeed')()) }}
{%- endmacro %}

{% macro duckdb__utc_now() -%}
  timezone('UTC', current_timestamp)
{%- endmacro %}

{% macro snowflake__utc_now() -%}
  sysdate()
{%- endmacro %}

{% macro default__utc_now() -%}
  {{ exceptions.raise_compiler_error("utc_now: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- ISO day of week (Monday = 1 ... Sunday = 7) and ISO week number of a date. -#}
{% macro iso_day_of_week(date_expr) -%}
  {{ return(adapter.dispatch('iso_day_of_week', 'stockfeed')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expr) -%}
  isodow({{ date_expr }})
{%- endmacro %}

{% macro snowflake__iso_day_of_week(date_expr) -%}
  dayofweekiso({{ date_expr }})
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
  {{ exceptions.raise_compiler_error("iso_day_of_week: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro iso_week(date_expr) -%}
  {{ return(adapter.dispatch('iso_week', 'stockfeed')(date_expr)) }}
{%- endmacro %}

{% macro duckdb__iso_week(date_expr) -%}
  weekofyear({{ date_expr }})
{%- endmacro %}

{% macro snowflake__iso_week(date_expr) -%}
  weekiso({{ date_expr }})
{%- endmacro %}

{% macro default__iso_week(date_expr) -%}
  {{ exceptions.raise_compiler_error("iso_week: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}


{#- The current time as UNIX seconds (a number), for comparing raw epochs without converting them. -#}
{% macro utc_now_epoch() -%}
  {{ return(adapter.dispatch('utc_now_epoch', 'stockfeed')()) }}
{%- endmacro %}

{% macro duckdb__utc_now_epoch() -%}
  epoch(current_timestamp)
{%- endmacro %}

{% macro snowflake__utc_now_epoch() -%}
  date_part(epoch_second, current_timestamp())
{%- endmacro %}

{% macro default__utc_now_epoch() -%}
  {{ exceptions.raise_compiler_error("utc_now_epoch: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

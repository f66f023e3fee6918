{#-
    The number of the `minutes`-long UTC bucket holding timestamp `ts`, counted from 1970-01-01 00:00 UTC
    (floor division, so instants before 1970 land in the right bucket too). Bucket n covers
    [n * minutes, (n + 1) * minutes) minutes after the epoch; time_bucket_start(n) turns it back into a timestamp.
    Integer bucket numbers make window frames plain integer arithmetic in every dialect.
-#}
{% macro time_bucket_index(ts, minutes) -%}
    {{ return(adapter.dispatch('time_bucket_index', 'rollout')(ts, minutes)) }}
{%- endmacro %}

{% macro default__time_bucket_index(ts, minutes) -%}
    cast(floor(extract(epoch from {{ ts }}) / {{ minutes * 60 }}) as bigint)
{%- endmacro %}

{% macro duckdb__time_bucket_index(ts, minutes) -%}
    {%- set width = minutes * 60 * 1000000 -%}
    (epoch_us({{ ts }}) // {{ width }} - case when epoch_us({{ ts }}) % {{ width }} < 0 then 1 else 0 end)
{%- endmacro %}

{% macro spark__time_bucket_index(ts, minutes) -%}
    cast(floor(unix_micros({{ ts }}) / {{ minutes * 60 * 1000000 }}) as bigint)
{%- endmacro %}

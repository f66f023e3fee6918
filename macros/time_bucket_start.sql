{#- The UTC start of bucket number `bucket_index` of `minutes`-long buckets (see time_bucket_index), as a timestamp with time zone. -#}
{% macro time_bucket_start(bucket_index, minutes) -%}
    {{ return(adapter.dispatch('time_bucket_start', 'rollout')(bucket_index, minutes)) }}
{%- endmacro %}

{% macro default__time_bucket_start(bucket_index, minutes) -%}
    (timestamp with time zone '1970-01-01 00:00:00+00' + ({{ bucket_index }}) * interval '{{ minutes }} minutes')
{%- endmacro %}

{% macro duckdb__time_bucket_start(bucket_index, minutes) -%}
    to_timestamp(({{ bucket_index }}) * {{ minutes * 60 }})
{%- endmacro %}

{% macro spark__time_bucket_start(bucket_index, minutes) -%}
    timestamp_seconds(({{ bucket_index }}) * {{ minutes * 60 }})
{%- endmacro %}

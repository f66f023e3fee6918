{#- The UTC wall-clock time of instant `ts` (for dates, hours and minutes of UTC). On Spark the session time zone
    is UTC (profiles.yml), so an instant already reads as UTC. -#}
{% macro utc_wallclock(ts) -%}
    {{ return(adapter.dispatch('utc_wallclock', 'rollout')(ts)) }}
{%- endmacro %}

{% macro default__utc_wallclock(ts) -%}
    timezone('UTC', {{ ts }})
{%- endmacro %}

{% macro spark__utc_wallclock(ts) -%}
    {{ ts }}
{%- endmacro %}

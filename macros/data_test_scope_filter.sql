{#-
    The data-test scope of the test being compiled, as a SQL condition on the tested rows (alias dbt_scope_base),
    or '' for every row. rolloutctl passes the scope to each cycle's build in ROLLOUT_DATA_TEST_FROM (rolloutctl/
    warehouse/test_failures.py, which also records it in quality.data_test_scope): the watermark of the last build
    whose data tests all passed; unset for a full build. An environment variable rather than a query of that table:
    reading it in every test's compile cost the cycle a query and a catalog lookup per test (dbt reads it only at
    execution: `execute` is false while parsing, so its value does not invalidate the partial parse). The tested model or source says how its rows relate to new data (`meta: {data_test_scope: …}`):
      loaded_at          rows are only appended: those loaded after test_from are new (raw.events, the telemetry
                         staging views, int_telemetry_events_parsed); a `unique` test checks every row whose key
                         a new row has, so a new key repeating an old one is still found;
      recomputed_points  rows keyed by (phase, eval_at) are recomputed where new events fall: the evaluation times
                         after the earliest event of the phase loaded after test_from (metrics_windowed: an event at
                         t only changes the windows of T > t; delete+insert leaves every other row as tested).
    Anything else, no scope (a full build, a dbt run outside rolloutctl, Spark), or no tested model: every row.
-#}
{% macro data_test_scope_filter() -%}
    {%- if not execute or model is not mapping -%}
        {{ return('') }}
    {%- endif -%}
    {%- set parent_id = model.get('attached_node') or (model.get('depends_on', {}).get('nodes') or [none])[0] -%}
    {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) if parent_id else none -%}
    {%- set kind = (parent.get('meta') or {}).get('data_test_scope')
            or ((parent.get('config') or {}).get('meta') or {}).get('data_test_scope') if parent else none -%}
    {%- set scope_from = env_var('ROLLOUT_DATA_TEST_FROM', '') if kind else '' -%}
    {%- if not scope_from -%}
        {{ return('') }}
    {%- endif -%}
    {#- a literal, so that the scan skips the row groups loaded before it (zone maps) -#}
    {%- set test_from = "cast('" ~ scope_from ~ "' as timestamptz)" -%}
    {%- set test = model.get('test_metadata') or {} -%}
    {%- set key = (test.get('kwargs') or {}).get('column_name') -%}
    {%- if kind == 'loaded_at' and test.get('name') == 'unique' and key -%}
        {#- a new key may repeat an old one: every row whose key a new row has -#}
        {{ return('dbt_scope_base.' ~ key ~ ' in (select scoped.' ~ key ~ ' from ' ~ parent.relation_name
                  ~ ' as scoped where scoped.loaded_at > ' ~ test_from ~ ')') }}
    {%- elif kind == 'loaded_at' -%}
        {{ return('dbt_scope_base.loaded_at > ' ~ test_from) }}
    {%- elif kind == 'recomputed_points' -%}
        {%- set events = graph.nodes.get('model.' ~ project_name ~ '.int_telemetry_events_parsed') -%}
        {%- set condition -%}
            dbt_scope_base.eval_at > (
                select coalesce(min(new_events.event_at), {{ timestamp_infinity() }})
                from {{ events.relation_name }} as new_events
                where new_events.phase = dbt_scope_base.phase and new_events.loaded_at > {{ test_from }}
            )
        {%- endset -%}
        {{ return(condition) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

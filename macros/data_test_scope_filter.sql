{#-
    The data-test scope of the test being compiled, as a SQL condition on the tested rows (alias dbt_scope_base),
    or '' for every row. rolloutctl sets quality.data_test_scope before each build (rolloutctl/warehouse/
    test_failures.py): test_from is NULL for a full build, else the watermark of the last build whose data tests all
    passed. The tested model or source says how its rows relate to new data (`meta: {data_test_scope: …}`):
      loaded_at          rows are only appended: those loaded after test_from are new (raw.events, the telemetry
                         staging views, int_telemetry_events_parsed); a `unique` test checks every row whose key
                         a new row has, so a new key repeating an old one is still found;
      recomputed_points  rows keyed by (phase, eval_at) are recomputed where new events fall: the evaluation times
                         after the earliest event of the phase loaded after test_from (metrics_windowed: an event at
                         t only changes the windows of T > t; delete+insert leaves every other row as tested).
    Anything else, a warehouse without the scope table (a dbt run outside rolloutctl, Spark), or no tested model:
    every row.
-#}
{% macro data_test_scope_filter() -%}
    {%- if not execute or model is not mapping -%}
        {{ return('') }}
    {%- endif -%}
    {%- set parent_id = model.get('attached_node') or (model.get('depends_on', {}).get('nodes') or [none])[0] -%}
    {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) if parent_id else none -%}
    {%- set kind = (parent.get('meta') or {}).get('data_test_scope')
            or ((parent.get('config') or {}).get('meta') or {}).get('data_test_scope') if parent else none -%}
    {%- set scope_table = adapter.get_relation(
            database=target.database, schema='quality', identifier='data_test_scope') if kind else none -%}
    {%- if scope_table is none -%}
        {{ return('') }}
    {%- endif -%}
    {#- read now and written as a literal, so that the scan skips the row groups loaded before it (zone maps) -#}
    {%- set found = run_query('select cast(max(test_from) as varchar) from ' ~ scope_table).columns[0].values() -%}
    {%- if found and found[0] is not none -%}
        {%- set test_from = "cast('" ~ found[0] ~ "' as timestamptz)" -%}
    {%- else -%}
        {%- set test_from = timestamp_infinity(negative=true) -%}
    {%- endif -%}
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

{#-
    The table materialization on DuckDB, made for a build every 15 minutes: one `create or replace table … as` in
    the model's transaction, which DuckDB makes atomic (a reader sees the old table or the new one, never neither).
    dbt-duckdb's own builds a __dbt_tmp table, renames the old one away and the new one in, drops the old, and on
    the way looks up foreign keys, indexes, grants and persisted docs, none of which this project uses: about
    0.1 s of dbt's Python per table, most of what a small mart costs in a cycle (BENCHMARKS.md, issue 12). The
    root project's materialization is the one dbt uses for its adapter; Spark keeps its own.
    Hooks run where dbt's run them. A relation of another type under the same name (a view, before a model
    became a table) is dropped first.
-#}
{% materialization table, adapter="duckdb" %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}   {#- `BEGIN` happens here -#}

  {%- if existing_relation is not none and not existing_relation.is_table %}
    {{ adapter.drop_relation(existing_relation) }}
  {%- endif %}
  {% call statement('main') -%}
    create or replace table {{ target_relation }} as (
      {{ compiled_code }}
    )
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- rolloutctl mirrors reports/rca/ into governance.rca_files before it builds; a warehouse it never synced (a bare
    `dbt build`) has no such table yet, which means no RCA. -#}
{%- set mirrored = adapter.get_relation(database=target.database, schema='governance', identifier='rca_files')
    if execute else true -%}

with

{% if mirrored %}
source as (

    select * from {{ source('governance', 'rca_files') }}

),
{% else %}
source as (

    select
        cast(null as string) as rollback_id,
        cast(null as string) as path,
        cast(null as string) as status,
        cast(null as boolean) as is_complete,
        cast(null as {{ sql_type('timestamptz') }}) as modified_at
    where false

),
{% endif %}

final as (

    select
        rollback_id,
        path,
        status,
        is_complete,
        modified_at
    from source

)

select * from final

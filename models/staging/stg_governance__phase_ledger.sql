{#- rolloutctl mirrors the ledger into governance.phase_ledger before it builds; a warehouse it never synced (a bare
    `dbt build`) has no such table yet, which means an empty ledger. -#}
{%- set mirrored = adapter.get_relation(database=target.database, schema='governance', identifier='phase_ledger')
    if execute else true -%}

with

{% if mirrored %}
source as (

    select * from {{ source('governance', 'phase_ledger') }}

),
{% else %}
source as (

    select
        cast(null as string) as entry_id,
        cast(null as integer) as seq,
        cast(null as string) as action,
        cast(null as string) as phase_from,
        cast(null as string) as phase_to,
        cast(null as string) as executor,
        cast(null as {{ sql_type('timestamptz') }}) as effective_at,
        cast(null as {{ sql_type('timestamptz') }}) as recorded_at,
        cast(null as string) as reason,
        cast(null as boolean) as is_forced,
        cast(null as {{ sql_type('varchar[]') }}) as trigger_rule_ids,
        cast(null as string) as metrics_file,
        cast(null as string) as metrics_sha256
    where false

),
{% endif %}

final as (

    select
        entry_id,
        seq,
        action,
        phase_from,
        phase_to,
        executor,
        effective_at,
        recorded_at,
        reason,
        is_forced,
        trigger_rule_ids,
        metrics_file,
        metrics_sha256
    from source

)

select * from final

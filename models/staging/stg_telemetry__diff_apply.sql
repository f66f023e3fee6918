-- merge.diff.apply: one row per Diff-Merge apply.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'merge.diff.apply'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'precision': 'varchar', 'auto_accept_ratio': 'double', 'auto_accepted': 'boolean', 'hunk_count': 'bigint',
            'cohort': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as applied_at,
        fields.precision as merge_precision,
        fields.auto_accept_ratio as auto_accept_ratio,
        fields.auto_accepted as is_auto_accepted,
        fields.hunk_count as hunk_count,
        -- the optional cohort (a control group running at the same time); absent means treatment
        coalesce(fields.cohort, 'treatment') as cohort,
        load_id,
        loaded_at
    from parsed

)

select * from final

-- qa.case.result: one row per recorded QA case result.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'qa.case.result'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'suite': 'varchar', 'case_id': 'varchar', 'result': 'varchar', 'executor': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as recorded_at,
        fields.suite as suite,
        fields.case_id as case_id,
        fields.result as result,
        fields.result = 'pass' as is_pass,
        fields.executor as executor,
        load_id,
        loaded_at
    from parsed

)

select * from final

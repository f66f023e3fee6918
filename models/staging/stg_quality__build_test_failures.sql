{#- rolloutctl records the data tests of the latest build that failed in quality.build_test_failures; a warehouse it
    never built has no such table yet, which means no failing test. -#}
{%- set recorded = adapter.get_relation(database=target.database, schema='quality', identifier='build_test_failures')
    if execute else true -%}

with

{% if recorded %}
source as (

    select * from {{ source('quality', 'build_test_failures') }}

),
{% else %}
source as (

    select
        cast(null as string) as test_name,
        cast(null as string) as status,
        cast(null as string) as message,
        cast(null as {{ sql_type('timestamptz') }}) as recorded_at
    where false

),
{% endif %}

final as (

    select
        test_name,
        status,
        message,
        recorded_at
    from source

)

select * from final

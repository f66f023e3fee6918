-- Every evaluation time T of every phase (SPEC §5's grid), with T's day and whether T is on a full hour.
with

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

final as (

    select distinct
        phase,
        eval_at,
        -- T's day is the UTC date of T - 15 min: T = 00:00 closes the day that just ended
        cast({{ utc_wallclock('eval_at - interval 15 minute') }} as date) as eval_day,
        extract(minute from {{ utc_wallclock('eval_at') }}) = 0 as is_full_hour
    from metrics_windowed

)

select * from final

-- Macro test: time_bucket_index / time_bucket_start on 15-minute boundaries, a microsecond either side of one,
-- an instant written with an offset, and instants before 1970 (floor division, not truncation).
-- Returns the cases that disagree with the expected bucket start.
with

case_literals (case_name, ts, expected_start) as (

    values
    ('on a boundary', '2026-03-01 10:15:00+00', '2026-03-01 10:15:00+00'),
    ('just before', '2026-03-01 10:14:59.999999+00', '2026-03-01 10:00:00+00'),
    ('just after', '2026-03-01 10:15:00.000001+00', '2026-03-01 10:15:00+00'),
    ('offset +09:00', '2026-03-01 19:29:59+09:00', '2026-03-01 10:15:00+00'),
    ('offset -05:45', '2026-03-01 04:31:00-05:45', '2026-03-01 10:15:00+00'),
    ('the epoch', '1970-01-01 00:00:00+00', '1970-01-01 00:00:00+00'),
    ('before 1970', '1969-12-31 23:59:59.999999+00', '1969-12-31 23:45:00+00'),
    ('before 1970 on a boundary', '1969-12-31 23:45:00+00', '1969-12-31 23:45:00+00')

),

cases as (

    select
        case_name,
        cast(ts as {{ sql_type('timestamptz') }}) as ts,
        cast(expected_start as {{ sql_type('timestamptz') }}) as expected_start
    from case_literals

),

computed as (

    select
        case_name,
        expected_start,
        {{ time_bucket_start(time_bucket_index('ts', 15), 15) }} as computed_start
    from cases

)

select * from computed
where computed_start is distinct from expected_start

-- Macro test: time_bucket_index / time_bucket_start on 15-minute boundaries, a microsecond either side of one,
-- an instant written with an offset, and instants before 1970 (floor division, not truncation).
-- Returns the cases that disagree with the expected bucket start.
with

cases (case_name, ts, expected_start) as (

    values
        ('on a boundary', cast('2026-03-01 10:15:00+00' as {{ sql_type('timestamptz') }}), cast('2026-03-01 10:15:00+00' as {{ sql_type('timestamptz') }})),
        ('just before', cast('2026-03-01 10:14:59.999999+00' as {{ sql_type('timestamptz') }}), cast('2026-03-01 10:00:00+00' as {{ sql_type('timestamptz') }})),
        ('just after', cast('2026-03-01 10:15:00.000001+00' as {{ sql_type('timestamptz') }}), cast('2026-03-01 10:15:00+00' as {{ sql_type('timestamptz') }})),
        ('offset +09:00', cast('2026-03-01 19:29:59+09:00' as {{ sql_type('timestamptz') }}), cast('2026-03-01 10:15:00+00' as {{ sql_type('timestamptz') }})),
        ('offset -05:45', cast('2026-03-01 04:31:00-05:45' as {{ sql_type('timestamptz') }}), cast('2026-03-01 10:15:00+00' as {{ sql_type('timestamptz') }})),
        ('the epoch', cast('1970-01-01 00:00:00+00' as {{ sql_type('timestamptz') }}), cast('1970-01-01 00:00:00+00' as {{ sql_type('timestamptz') }})),
        ('before 1970', cast('1969-12-31 23:59:59.999999+00' as {{ sql_type('timestamptz') }}), cast('1969-12-31 23:45:00+00' as {{ sql_type('timestamptz') }})),
        ('before 1970 on a boundary', cast('1969-12-31 23:45:00+00' as {{ sql_type('timestamptz') }}), cast('1969-12-31 23:45:00+00' as {{ sql_type('timestamptz') }}))

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

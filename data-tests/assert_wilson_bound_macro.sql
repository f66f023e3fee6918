-- Macro test: wilson_bound against published 95% Wilson intervals (0/10, 50/100) and values computed independently
-- (199/200: the point estimate 0.995, yet the interval reaches down to 0.972). Returns the cases off by more than
-- 1e-9, and any interval that does not hold its point estimate.
with

cases (case_name, successes, n, expected_lower, expected_upper) as (

    values
    ('0 of 10', 0, 10, 0.0, 0.2775327998628892),
    ('10 of 10', 10, 10, 0.7224672001371107, 1.0),
    ('50 of 100', 50, 100, 0.4038315303659956, 0.5961684696340044),
    ('199 of 200', 199, 200, 0.9722262956021069, 0.9991168312843989),
    ('397 of 400', 397, 400, 0.9781842792759678, 0.9974461108047501),
    ('1 of 2', 1, 2, 0.09453120573423074, 0.9054687942657693)

),

computed as (

    select
        *,
        cast(successes as double) / n as p,
        {{ wilson_bound('cast(successes as double) / n', 'n', 'lower') }} as lower_bound,
        {{ wilson_bound('cast(successes as double) / n', 'n', 'upper') }} as upper_bound
    from cases

)

select * from computed
where abs(lower_bound - expected_lower) > 1e-9
    or abs(upper_bound - expected_upper) > 1e-9
    or not (lower_bound <= p and p <= upper_bound)

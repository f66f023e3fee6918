-- Macro test (mattermost style): values through quantile_cont (the aggregate) and through the order-statistic
-- macros the windowed quantile uses (quantile_cont_lower_rank + quantile_cont_interpolate), against
-- numpy.percentile(x, 95) computed beforehand. Returns the cases that disagree by more than 1e-12 relative.

with

sample_literals (case_name, x) as (

    values
    ('one_value', 812.5),
    ('two_values', 1.0), ('two_values', 2.0),
    ('three_unsorted', 3.0), ('three_unsorted', 1.0), ('three_unsorted', 2.0),
    ('whole_rank_21', 0.0), ('whole_rank_21', 1.0), ('whole_rank_21', 2.0), ('whole_rank_21', 3.0),
    ('whole_rank_21', 4.0), ('whole_rank_21', 5.0), ('whole_rank_21', 6.0), ('whole_rank_21', 7.0),
    ('whole_rank_21', 8.0), ('whole_rank_21', 9.0), ('whole_rank_21', 10.0), ('whole_rank_21', 11.0),
    ('whole_rank_21', 12.0), ('whole_rank_21', 13.0), ('whole_rank_21', 14.0), ('whole_rank_21', 15.0),
    ('whole_rank_21', 16.0), ('whole_rank_21', 17.0), ('whole_rank_21', 18.0), ('whole_rank_21', 19.0),
    ('whole_rank_21', 20.0),
    ('all_tied', 5.0), ('all_tied', 5.0), ('all_tied', 5.0), ('all_tied', 5.0),
    ('zero_and_huge', 0.0), ('zero_and_huge', 1000000.0),
    ('lognormal_50', 403.826), ('lognormal_50', 512.344), ('lognormal_50', 323.983), ('lognormal_50', 197.853),
    ('lognormal_50', 280.413), ('lognormal_50', 182.488), ('lognormal_50', 423.314), ('lognormal_50', 1178.706),
    ('lognormal_50', 272.118), ('lognormal_50', 245.579), ('lognormal_50', 596.974), ('lognormal_50', 536.738),
    ('lognormal_50', 438.926), ('lognormal_50', 191.641), ('lognormal_50', 394.098), ('lognormal_50', 703.623),
    ('lognormal_50', 137.638), ('lognormal_50', 279.753), ('lognormal_50', 88.148), ('lognormal_50', 143.792),
    ('lognormal_50', 92.445), ('lognormal_50', 334.263), ('lognormal_50', 146.356), ('lognormal_50', 501.203),
    ('lognormal_50', 457.328), ('lognormal_50', 347.392), ('lognormal_50', 53.871), ('lognormal_50', 262.184),
    ('lognormal_50', 388.075), ('lognormal_50', 441.707), ('lognormal_50', 118.616), ('lognormal_50', 275.282),
    ('lognormal_50', 184.414), ('lognormal_50', 211.226), ('lognormal_50', 942.672), ('lognormal_50', 211.447),
    ('lognormal_50', 393.068), ('lognormal_50', 818.532), ('lognormal_50', 252.932), ('lognormal_50', 368.942),
    ('lognormal_50', 440.703), ('lognormal_50', 424.548), ('lognormal_50', 151.405), ('lognormal_50', 428.766),
    ('lognormal_50', 1196.384), ('lognormal_50', 117.013), ('lognormal_50', 802.319), ('lognormal_50', 443.848),
    ('lognormal_50', 241.489), ('lognormal_50', 1998.862),
    ('with_ties_12', 250.0), ('with_ties_12', 250.0), ('with_ties_12', 250.0), ('with_ties_12', 100.0),
    ('with_ties_12', 900.5), ('with_ties_12', 900.5), ('with_ties_12', 42.0), ('with_ties_12', 250.0),
    ('with_ties_12', 1200.0), ('with_ties_12', 1200.0), ('with_ties_12', 3.25), ('with_ties_12', 77.0)

),

expected_literals (case_name, numpy_p95) as (

    values
    ('one_value', 812.5),
    ('two_values', 1.95),
    ('three_unsorted', 2.9),
    ('whole_rank_21', 19.0),
    ('all_tied', 5.0),
    ('zero_and_huge', 950000.0),
    ('lognormal_50', 1072.4906999999994),
    ('with_ties_12', 1200.0)

),

-- literals like 403.826 are decimals: the macros take doubles
samples as (

    select case_name, cast(x as double) as x from sample_literals

),

expected as (

    select case_name, cast(numpy_p95 as double) as numpy_p95 from expected_literals

),

by_aggregate as (

    select case_name, {{ quantile_cont('x', 0.95) }} as p95
    from samples
    group by case_name

),

ranked as (

    select
        case_name,
        x,
        row_number() over (partition by case_name order by x) - 1 as rank_0,
        count(*) over (partition by case_name) as n
    from samples

),

by_order_statistics as (

    select
        lower_statistic.case_name,
        {{ quantile_cont_interpolate('lower_statistic.x', 'upper_statistic.x', 'lower_statistic.n', 0.95) }} as p95
    from ranked as lower_statistic
    inner join ranked as upper_statistic
        on upper_statistic.case_name = lower_statistic.case_name
        and upper_statistic.rank_0 = least(lower_statistic.rank_0 + 1, lower_statistic.n - 1)
    where lower_statistic.rank_0 = {{ quantile_cont_lower_rank('lower_statistic.n', 0.95) }}

)

select
    expected.case_name,
    expected.numpy_p95,
    by_aggregate.p95 as aggregate_p95,
    by_order_statistics.p95 as order_statistics_p95
from expected
left join by_aggregate on by_aggregate.case_name = expected.case_name
left join by_order_statistics on by_order_statistics.case_name = expected.case_name
where by_aggregate.p95 is null
    or by_order_statistics.p95 is null
    or abs(by_aggregate.p95 - expected.numpy_p95) > 1e-12 * abs(expected.numpy_p95)
    or abs(by_order_statistics.p95 - expected.numpy_p95) > 1e-12 * abs(expected.numpy_p95)

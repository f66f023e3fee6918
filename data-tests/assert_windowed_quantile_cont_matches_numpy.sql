-- Macro test: samples in eight 15-minute buckets (ties, a zero, an empty bucket, a second phase with one sample)
-- through windowed_quantile_cont for windows of 1, 3 and 8 buckets, against numpy.percentile(x, 95) of each
-- window computed beforehand. Run three ways: the adapter's implementation with its default bins, the DuckDB
-- rank search with octave-wide coarse bins split in two fine bins (so every level searches across bins), and
-- the portable definition (default__, quantile_cont over the joined windows). Returns disagreements: a missing or extra
-- (phase, T, window), a different sample count, or a value more than 1e-12 relative away.
{%- set windows = [{'name': '1b', 'buckets': 1}, {'name': '3b', 'buckets': 3}, {'name': '8b', 'buckets': 8}] %}

with

raw_samples (phase_id, bucket_index, value) as (

    values
    (1, 100, 170.37), (1, 100, 232.19),
    (1, 102, 438.56), (1, 102, 318.6), (1, 102, 250.0), (1, 102, 482.14), (1, 102, 55.95),
    (1, 104, 65.69), (1, 104, 250.0), (1, 104, 453.45), (1, 104, 193.26), (1, 104, 717.95),
    (1, 105, 282.41), (1, 105, 209.86), (1, 105, 107.45),
    (1, 106, 269.03), (1, 106, 222.61), (1, 106, 113.55), (1, 106, 8.76), (1, 106, 339.85), (1, 106, 0.0),
    (1, 107, 250.0), (1, 107, 295.74), (1, 107, 70.77), (1, 107, 48.43), (1, 107, 58.18),
    (2, 100, 42.0)

),

-- literals like 170.37 are decimals: the macros take doubles
samples as (

    select phase_id, bucket_index, cast(value as double) as value from raw_samples

),

targets (phase_id, eval_index) as (

    values
    (1, 100), (1, 101), (1, 102), (1, 103), (1, 104), (1, 105), (1, 106), (1, 107), (1, 108), (1, 109),
    (2, 99), (2, 101)

),

expected_literals (phase_id, eval_index, window_name, sample_count, value) as (

    values
    (1, 101, '1b', 2, 229.099), (1, 101, '3b', 2, 229.099), (1, 101, '8b', 2, 229.099),
    (1, 102, '3b', 2, 229.099), (1, 102, '8b', 2, 229.099),
    (1, 103, '1b', 5, 473.424), (1, 103, '3b', 7, 469.066), (1, 103, '8b', 7, 469.066),
    (1, 104, '3b', 5, 473.424), (1, 104, '8b', 7, 469.066),
    (1, 105, '1b', 5, 665.05), (1, 105, '3b', 10, 611.8354999999998), (1, 105, '8b', 12, 588.2544999999999),
    (1, 106, '1b', 3, 275.15500000000003), (1, 106, '3b', 8, 625.3749999999999), (1, 106, '8b', 15, 552.8829999999998),
    (1, 107, '1b', 6, 322.145), (1, 107, '3b', 14, 546.0249999999999), (1, 107, '8b', 21, 482.14),
    (1, 108, '1b', 5, 286.592), (1, 108, '3b', 14, 311.1785), (1, 108, '8b', 26, 474.9675),
    (1, 109, '3b', 11, 317.795), (1, 109, '8b', 24, 477.83649999999994),
    (2, 101, '1b', 1, 42.0), (2, 101, '3b', 1, 42.0), (2, 101, '8b', 1, 42.0)

),

expected as (

    select phase_id, eval_index, window_name, sample_count, cast(value as double) as value from expected_literals

),

computed as (

    select 'adapter' as implementation, *
    from {{ windowed_quantile_cont('samples', 'targets', 0.95, windows) }}
    union all
    select 'definition' as implementation, *
    from {{ default__windowed_quantile_cont('samples', 'targets', 0.95, windows) }}
    {%- if target.type == 'duckdb' %}
    union all
    select 'octave_coarse_two_fine_bins' as implementation, *
    from {{ duckdb__windowed_quantile_cont('samples', 'targets', 0.95, windows, fine_bins=2, coarse_per_octave=1) }}
    {%- endif %}

),

implementations as (

    select distinct implementation from computed

)

select
    implementations.implementation,
    expected.phase_id,
    expected.eval_index,
    expected.window_name,
    expected.sample_count,
    expected.value,
    computed.phase_id as computed_phase_id,
    computed.eval_index as computed_eval_index,
    computed.window_name as computed_window_name,
    computed.sample_count as computed_sample_count,
    computed.value as computed_value
from expected
cross join implementations
full outer join computed
    on computed.implementation = implementations.implementation
    and computed.phase_id = expected.phase_id
    and computed.eval_index = expected.eval_index
    and computed.window_name = expected.window_name
where expected.phase_id is null
    or computed.phase_id is null
    or computed.sample_count <> expected.sample_count
    or abs(computed.value - expected.value) > 1e-12 * abs(expected.value)

{#-
    Exact quantile_cont(value, q) over sliding windows on a 15-minute grid, as a subquery.

    samples: a relation or CTE with (phase_id integer, bucket_index bigint, value double) — one row per sample,
             bucket_index from time_bucket_index(time, 15).
    targets: a relation or CTE with (phase_id, eval_index) — the evaluation points T (bucket index of T).
    windows: [{'name', 'buckets'}] (metric_windows()); the window of length W at T holds the samples in buckets
             eval_index - W .. eval_index - 1, i.e. T - W <= time < T.

    Returns (phase_id, eval_index, window_name, sample_count, value) for every target and window holding at
    least one sample.

    default__ is the definition: join every target to the samples of its window and aggregate with quantile_cont
    (percentile on Spark). It does work proportional to the sum of all window sizes, so duckdb__ finds the same
    two order statistics without sorting any window: see below.
-#}
{% macro windowed_quantile_cont(samples, targets, quantile, windows=none) -%}
    {{ return(adapter.dispatch('windowed_quantile_cont', 'rollout')(samples, targets, quantile, windows or metric_windows())) }}
{%- endmacro %}

{% macro default__windowed_quantile_cont(samples, targets, quantile, windows) -%}
(
    select
        targets.phase_id,
        targets.eval_index,
        windows.window_name,
        count(*) as sample_count,
        {{ quantile_cont('samples.value', quantile) }} as value
    from {{ targets }} as targets
    cross join (
        {%- for window in windows %}
        select '{{ window.name }}' as window_name, {{ window.buckets }} as window_buckets
        {{- " union all" if not loop.last }}
        {%- endfor %}
    ) as windows
    inner join {{ samples }} as samples
        on samples.phase_id = targets.phase_id
        and samples.bucket_index >= targets.eval_index - windows.window_buckets
        and samples.bucket_index < targets.eval_index
    group by targets.phase_id, targets.eval_index, windows.window_name
)
{%- endmacro %}

{#-
    DuckDB: a two-level rank search, exact, with work proportional to samples + buckets x bins, not to the sum of
    all window sizes, and no sort of all samples.

    1. Coarse level: every sample gets a coarse bin from its value alone (1/coarse_per_octave of an octave, on a
       log scale; any order-preserving map would do), so bin order is value order. Per (bucket, coarse bin)
       counts on a dense bucket axis and a 2-d prefix sum (over bins within a bucket, then over buckets) make
       "samples of window W at T at or below coarse bin c" a difference of two prefixes (lag by W buckets).
       For each (T, W): n, the ranks k = floor((n - 1) q) and k + 1, the coarse bin holding each and the rank
       inside it.
    2. Fine level: only the samples of the coarse bins found are ranked (ntile, equal counts) into fine_bins fine
       bins; per fine bin the window's count comes from running counts read at the window's two edges (probe
       rows). That gives the fine bin holding each order statistic and the rank inside it.
    3. The order statistics themselves: the few samples of that fine bin inside the window, sorted.
    4. quantile_cont_interpolate between them.
-#}
{% macro duckdb__windowed_quantile_cont(samples, targets, quantile, windows, fine_bins=64, coarse_per_octave=16) -%}
{%- set longest = windows | map(attribute='buckets') | max -%}
{#- values at or below 2^-30 share the lowest coarse bin, values at or above 2^60 the highest -#}
{%- set coarse_key -%}
    case
        when samples.value <= pow(2, -30) then {{ -30 * coarse_per_octave - 1 }}
        else cast(floor(log2(least(samples.value, pow(2, 60))) * {{ coarse_per_octave }}) as integer)
    end
{%- endset -%}
(
    with

    window_lengths as (
        select * from (values
            {%- for window in windows %}
            ({{ loop.index0 }}, '{{ window.name }}', {{ window.buckets }}){{ "," if not loop.last }}
            {%- endfor %}
        ) as window_lengths (window_id, window_name, window_buckets)
    ),

    target_ranges as (
        select
            phase_id,
            min(eval_index) - {{ longest }} as first_bucket,
            max(eval_index) - 1 as last_bucket
        from {{ targets }}
        group by phase_id
    ),

    keyed as materialized (
        select
            samples.phase_id,
            samples.bucket_index,
            samples.value,
            {{ coarse_key }} as coarse_key
        from {{ samples }} as samples
        inner join target_ranges
            on samples.phase_id = target_ranges.phase_id
            and samples.bucket_index between target_ranges.first_bucket and target_ranges.last_bucket
    ),

    -- the buckets the targets' windows cover, per phase, as one contiguous range (lag() below counts on it);
    -- it starts at the first bucket holding a sample, since nothing before it counts
    bucket_ranges as (
        select
            target_ranges.phase_id,
            greatest(target_ranges.first_bucket, min(keyed.bucket_index)) as first_bucket,
            target_ranges.last_bucket
        from target_ranges
        inner join keyed
            on keyed.phase_id = target_ranges.phase_id
        group by target_ranges.phase_id, target_ranges.first_bucket, target_ranges.last_bucket
    ),

    -- the coarse keys present, numbered densely per phase
    coarse_bins as (
        select
            phase_id,
            coarse_key,
            cast(dense_rank() over (partition by phase_id order by coarse_key) - 1 as integer) as coarse_bin
        from (select distinct phase_id, coarse_key from keyed)
    ),

    binned as materialized (
        select
            keyed.phase_id,
            keyed.bucket_index,
            keyed.value,
            coarse_bins.coarse_bin
        from keyed
        inner join coarse_bins
            on coarse_bins.phase_id = keyed.phase_id
            and coarse_bins.coarse_key = keyed.coarse_key
    ),

    dense_buckets as (
        select
            phase_id,
            {{ integer_series('first_bucket', 'last_bucket') }} as bucket_index
        from bucket_ranges
    ),

    coarse_counts as (
        select
            phase_id,
            bucket_index,
            coarse_bin,
            count(*) as samples
        from binned
        group by phase_id, bucket_index, coarse_bin
    ),

    coarse_dense as (
        select
            dense_buckets.phase_id,
            dense_buckets.bucket_index,
            coarse_bins.coarse_bin,
            coalesce(coarse_counts.samples, 0) as samples
        from dense_buckets
        inner join coarse_bins
            on coarse_bins.phase_id = dense_buckets.phase_id
        left join coarse_counts
            on coarse_counts.phase_id = dense_buckets.phase_id
            and coarse_counts.bucket_index = dense_buckets.bucket_index
            and coarse_counts.coarse_bin = coarse_bins.coarse_bin
    ),
    -- samples in this bucket at or below this coarse bin
    coarse_in_bucket as (
        select
            *,
            sum(samples) over (
                partition by phase_id, bucket_index order by coarse_bin rows unbounded preceding
            ) as at_or_below
        from coarse_dense
    ),

    -- ... and in all buckets up to this one
    coarse_prefix as (
        select
            *,
            sum(at_or_below) over (
                partition by phase_id, coarse_bin order by bucket_index rows unbounded preceding
            ) as through_bucket
        from coarse_in_bucket
    ),

    -- per window: samples at or below the coarse bin in the window ending with this bucket (T = bucket + 1)
    coarse_windowed as (
        select
            phase_id,
            bucket_index + 1 as eval_index,
            coarse_bin,
            {%- for window in windows %}
            through_bucket - lag(through_bucket, {{ window.buckets }}, 0) over (
                partition by phase_id, coarse_bin order by bucket_index
            ) as at_or_below_{{ loop.index0 }}{{ "," if not loop.last }}
            {%- endfor %}
        from coarse_prefix
    ),

    coarse_at_targets as (
        select
            coarse_windowed.phase_id,
            coarse_windowed.eval_index,
            window_lengths.window_id,
            coarse_windowed.coarse_bin,
            case window_lengths.window_id
                {%- for window in windows %}
                when {{ loop.index0 }} then coarse_windowed.at_or_below_{{ loop.index0 }}
                {%- endfor %}
            end as at_or_below
        from coarse_windowed
        inner join {{ targets }} as targets
            on targets.phase_id = coarse_windowed.phase_id
            and targets.eval_index = coarse_windowed.eval_index
        cross join window_lengths
    ),

    window_sizes as (
        select
            phase_id,
            eval_index,
            window_id,
            max(at_or_below) as sample_count
        from coarse_at_targets
        group by phase_id, eval_index, window_id
        having max(at_or_below) > 0
    ),

    ranks as (
        select
            *,
            {{ quantile_cont_lower_rank('sample_count', quantile) }} as lower_rank,
            least({{ quantile_cont_lower_rank('sample_count', quantile) }} + 1, sample_count - 1) as upper_rank
        from window_sizes
    ),

    -- the coarse bin holding each order statistic: the first whose at_or_below exceeds its rank
    coarse_hits as (
        select
            ranks.phase_id,
            ranks.eval_index,
            ranks.window_id,
            min(coarse_at_targets.coarse_bin) filter (where coarse_at_targets.at_or_below > ranks.lower_rank) as lower_coarse_bin,
            ranks.lower_rank - coalesce(max(coarse_at_targets.at_or_below) filter (where coarse_at_targets.at_or_below <= ranks.lower_rank), 0) as lower_rank_in_coarse,
            min(coarse_at_targets.coarse_bin) filter (where coarse_at_targets.at_or_below > ranks.upper_rank) as upper_coarse_bin,
            ranks.upper_rank - coalesce(max(coarse_at_targets.at_or_below) filter (where coarse_at_targets.at_or_below <= ranks.upper_rank), 0) as upper_rank_in_coarse
        from ranks
        inner join coarse_at_targets
            on coarse_at_targets.phase_id = ranks.phase_id
            and coarse_at_targets.eval_index = ranks.eval_index
            and coarse_at_targets.window_id = ranks.window_id
        group by ranks.phase_id, ranks.eval_index, ranks.window_id, ranks.lower_rank, ranks.upper_rank
    ),

    order_statistics as (
        select phase_id, eval_index, window_id, 0 as is_upper, lower_coarse_bin as coarse_bin, lower_rank_in_coarse as rank_in_coarse
        from coarse_hits
        union all
        select phase_id, eval_index, window_id, 1 as is_upper, upper_coarse_bin as coarse_bin, upper_rank_in_coarse as rank_in_coarse
        from coarse_hits
    ),

    fine_searches as (
        select
            *,
            row_number() over () as search_id
        from (select distinct phase_id, eval_index, window_id, coarse_bin from order_statistics)
    ),

    searched_coarse_bins as (
        select distinct phase_id, coarse_bin from fine_searches
    ),

    -- materialized: ntile breaks ties arbitrarily, so every step below must see the same assignment
    fine_binned as materialized (
        select
            binned.phase_id,
            binned.bucket_index,
            binned.value,
            binned.coarse_bin * {{ fine_bins }} + cast(ntile({{ fine_bins }}) over (
                partition by binned.phase_id, binned.coarse_bin order by binned.value
            ) - 1 as integer) as bin
        from binned
        inner join searched_coarse_bins
            on searched_coarse_bins.phase_id = binned.phase_id
            and searched_coarse_bins.coarse_bin = binned.coarse_bin
    ),

    fine_counts as (
        select
            phase_id,
            bin,
            bucket_index,
            count(*) as samples
        from fine_binned
        group by phase_id, bin, bucket_index
    ),

    -- for each search and fine bin: read the bin's running count at the window's last bucket (+)
    -- and at the bucket just before its first (-)
    fine_probes as (
        select
            fine_searches.phase_id,
            fine_searches.coarse_bin * {{ fine_bins }} + fine.fine_bin as bin,
            fine_searches.eval_index - 1 - edges.back as bucket_index,
            edges.sign,
            fine_searches.search_id
        from fine_searches
        inner join window_lengths
            on window_lengths.window_id = fine_searches.window_id
        cross join range({{ fine_bins }}) as fine (fine_bin)
        cross join lateral (
            select 0 as back, 1 as sign
            union all
            select window_lengths.window_buckets as back, -1 as sign
        ) as edges
    ),

    -- probes sort after the counts of their own bucket, so a probe's running count includes that bucket
    fine_running as (
        select
            search_id,
            bin,
            sign,
            sum(samples) over (
                partition by phase_id, bin order by bucket_index, is_probe rows unbounded preceding
            ) as running
        from (
            select phase_id, bin, bucket_index, samples, 0 as is_probe, null::bigint as search_id, 0 as sign
            from fine_counts
            union all
            select phase_id, bin, bucket_index, 0 as samples, 1 as is_probe, search_id, sign
            from fine_probes
        )
        qualify is_probe = 1
    ),

    fine_window_counts as (
        select
            search_id,
            bin,
            sum(sign * running) as samples
        from fine_running
        group by search_id, bin
    ),

    fine_at_or_below as (
        select
            search_id,
            bin,
            sum(samples) over (partition by search_id order by bin rows unbounded preceding) as at_or_below
        from fine_window_counts
    ),

    fine_hits as (
        select
            order_statistics.phase_id,
            order_statistics.eval_index,
            order_statistics.window_id,
            order_statistics.is_upper,
            min(fine_at_or_below.bin) filter (where fine_at_or_below.at_or_below > order_statistics.rank_in_coarse) as bin,
            order_statistics.rank_in_coarse - coalesce(max(fine_at_or_below.at_or_below) filter (where fine_at_or_below.at_or_below <= order_statistics.rank_in_coarse), 0) as rank_in_bin
        from order_statistics
        inner join fine_searches
            on fine_searches.phase_id = order_statistics.phase_id
            and fine_searches.eval_index = order_statistics.eval_index
            and fine_searches.window_id = order_statistics.window_id
            and fine_searches.coarse_bin = order_statistics.coarse_bin
        inner join fine_at_or_below
            on fine_at_or_below.search_id = fine_searches.search_id
        group by
            order_statistics.phase_id,
            order_statistics.eval_index,
            order_statistics.window_id,
            order_statistics.is_upper,
            order_statistics.rank_in_coarse
    ),

    -- the samples of that fine bin inside the window, in value order: pick the one at rank_in_bin
    candidates as (
        select
            fine_hits.phase_id,
            fine_hits.eval_index,
            fine_hits.window_id,
            fine_hits.is_upper,
            fine_hits.rank_in_bin,
            fine_binned.value,
            row_number() over (
                partition by fine_hits.phase_id, fine_hits.eval_index, fine_hits.window_id, fine_hits.is_upper
                order by fine_binned.value
            ) - 1 as rank_in_window_bin
        from fine_hits
        inner join window_lengths
            on window_lengths.window_id = fine_hits.window_id
        inner join fine_binned
            on fine_binned.phase_id = fine_hits.phase_id
            and fine_binned.bin = fine_hits.bin
        where fine_binned.bucket_index >= fine_hits.eval_index - window_lengths.window_buckets
            and fine_binned.bucket_index < fine_hits.eval_index
    ),

    order_values as (
        select
            phase_id,
            eval_index,
            window_id,
            max(value) filter (where is_upper = 0) as lower_value,
            max(value) filter (where is_upper = 1) as upper_value
        from candidates
        where rank_in_window_bin = rank_in_bin
        group by phase_id, eval_index, window_id
    )

    select
        ranks.phase_id,
        ranks.eval_index,
        window_lengths.window_name,
        ranks.sample_count,
        {{ quantile_cont_interpolate('order_values.lower_value', 'order_values.upper_value', 'ranks.sample_count', quantile) }} as value
    from ranks
    inner join order_values
        on order_values.phase_id = ranks.phase_id
        and order_values.eval_index = ranks.eval_index
        and order_values.window_id = ranks.window_id
    inner join window_lengths
        on window_lengths.window_id = ranks.window_id
)
{%- endmacro %}

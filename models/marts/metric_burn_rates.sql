{{ config(materialized='view') }}
-- Issue 16, item 3: multi-window, multi-burn-rate verdicts on the error budgets of marts.error_budget (Google SRE
-- workbook, ch. 5 "Alerting on SLOs": 1 h / 5 min at 14.4×, 6 h / 30 min at 6×, 1 d / 2 h at 3×, 3 d / 6 h at 1× of a
-- 30-day budget period; a pair fires when both its windows burn). A window's burn is the share of its grid times
-- whose status was critical (marts.metric_status), against factor × the threshold's critical_budget_share. The
-- workbook's windows are scaled from 30 days to burn_rate_period_hours (a phase's length: 60 h, the plan's longest),
-- in grid times, at least one each: for 60 h, 1/1, 2/1, 8/1 and 24/2 (gate_trials.burn_windows measures the same).
{%- set period = var('burn_rate_period_hours') %}
{%- set pairs = [] %}
{%- for long_h, short_h, factor in [(1.0, 5 / 60, 14.4), (6.0, 0.5, 6.0), (24.0, 2.0, 3.0), (72.0, 6.0, 1.0)] %}
{%- set n_long = [1, (long_h * period / 720 * 4) | round | int] | max %}
{%- set n_short = [1, (short_h * period / 720 * 4) | round | int] | max %}
{%- do pairs.append((n_long, n_short, factor)) %}
{%- endfor %}
{%- set sizes = [] %}
{%- for n_long, n_short, factor in pairs %}
{%- for n in (n_long, n_short) if n not in sizes %}{%- do sizes.append(n) %}{%- endfor %}
{%- endfor %}
with

metric_status as (

    select * from {{ ref('metric_status') }}

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

shares as (

    select
        metric_status.eval_at,
        metric_status.phase,
        metric_status.metric,
        metric_status.dimension,
        metric_status.{{ adapter.quote('window') }},
        {%- for n in sizes %}
        avg(case when metric_status.status = 'critical' then 1.0 else 0.0 end) over (
            partition by
                metric_status.phase, metric_status.metric, metric_status.dimension,
                metric_status.{{ adapter.quote('window') }}
            order by metric_status.eval_at
            rows between {{ n - 1 }} preceding and current row
        ) as critical_share_{{ n }},
        {%- endfor %}
        cast(metric_thresholds.critical_budget_share as double) as budget_share
    from metric_status
    inner join metric_thresholds
        on metric_thresholds.metric = metric_status.metric
        and metric_thresholds.dimension = metric_status.dimension
        and metric_thresholds.{{ adapter.quote('window') }} = metric_status.{{ adapter.quote('window') }}
    where metric_status.status <> 'not_applicable'

),

-- each of the four pairs: both windows burn at least factor × the budget
burning as (

    select
        eval_at,
        phase,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        {%- for n_long, n_short, factor in pairs %}
        critical_share_{{ n_long }} >= {{ factor }} * budget_share
        and critical_share_{{ n_short }} >= {{ factor }} * budget_share as is_burning_{{ loop.index }},
        {%- endfor %}
        budget_share
    from shares

),

final as (

    select
        *,
        is_burning_1 or is_burning_2 or is_burning_3 or is_burning_4 as is_burn_rate_fired
    from burning

)

select * from final

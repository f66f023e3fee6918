{#- One end of the (1 − alpha) confidence sequence of a rate after `bad` events of `n` (Jeffreys mixture Beta(½, ½)):
    the rates p whose log_evidence stays below log(1/alpha) form an interval around bad / n; its ends found by 60
    bisections (sequential.rate_cs is the reference). `side` is 'lower' or 'upper'. NULL with no sample, and on
    adapters without a list fold (the test the gate reads, beta_binomial_log_evidence, needs none). -#}
{% macro beta_binomial_bound(bad, n, alpha, side) -%}
    {{ return(adapter.dispatch('beta_binomial_bound', 'rollout')(bad, n, alpha, side)) }}
{%- endmacro %}

{% macro default__beta_binomial_bound(bad, n, alpha, side) -%}
    cast(null as double)
{%- endmacro %}

{% macro duckdb__beta_binomial_bound(bad, n, alpha, side) -%}
    {#- acc = [a rate inside the sequence, one outside it], halved towards each other -#}
    {%- set mid = '((acc[1] + acc[2]) / 2.0)' -%}
    {%- set edge = ('0.0' if side == 'lower' else '1.0') -%}
    {%- set at_edge = ('(' ~ bad ~ ') = 0' if side == 'lower' else '(' ~ bad ~ ') = (' ~ n ~ ')') -%}
    (case
        when ({{ n }}) = 0 then null
        when {{ at_edge }} then {{ edge }}
        else list_reduce(
            range(60),
            lambda acc, i: case
                when {{ beta_binomial_log_evidence(bad, n, mid, 0.5, 0.5) }} < ln(1.0 / ({{ alpha }}))
                    then [{{ mid }}, acc[2]]
                else [acc[1], {{ mid }}]
            end,
            [least(greatest(({{ bad }}) / ({{ n }}), 1e-15), 1.0 - 1e-15), {{ edge }}]
        )[1]
    end)
{%- endmacro %}

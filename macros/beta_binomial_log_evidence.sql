{#- log M_n(p0): the beta-binomial mixture martingale (mixing Beta(a, b)) after `bad` events of `n` at the rate p0,
    Howard, Ramdas, McAuliffe & Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic confidence sequences",
    §3. By Ville's inequality it reaches log(1/α) with probability at most α at any look, ever, when p0 is the true
    rate. 0 before any sample. The reference implementation is rolloutctl/decision/sequential.py (log_evidence). -#}
{% macro beta_binomial_log_evidence(bad, n, p0, a, b) -%}
    (case when ({{ n }}) > 0 then
        {{ log_gamma('(' ~ a ~ ') + (' ~ bad ~ ')') }} + {{ log_gamma('(' ~ b ~ ') + (' ~ n ~ ') - (' ~ bad ~ ')') }}
        - {{ log_gamma('(' ~ a ~ ') + (' ~ b ~ ') + (' ~ n ~ ')') }}
        - ({{ log_gamma(a) }} + {{ log_gamma(b) }} - {{ log_gamma('(' ~ a ~ ') + (' ~ b ~ ')') }})
        - ({{ bad }}) * ln({{ p0 }}) - (({{ n }}) - ({{ bad }})) * ln(1.0 - ({{ p0 }}))
    else 0.0 end)
{%- endmacro %}

{#- One bound of the Wilson score interval of a proportion `p` observed over `n` samples, at z (default 1.96 for
    95%): (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n). The interval always holds p and lies in [0, 1];
    rounding can step a hair outside (the upper bound of 10 of 10 computes as 0.9999999999999998), so the result
    is clamped to those. `side` is 'lower' or 'upper'. NULL when n is 0 or p is NULL. -#}
{% macro wilson_bound(p, n, side, z=1.959963984540054) -%}
    {%- set sign = '-' if side == 'lower' else '+' -%}
    {%- set clamp = 'least' if side == 'lower' else 'greatest' -%}
    (case when {{ n }} > 0 and {{ p }} is not null then
        {{ clamp }}(({{ p }}), least(1.0, greatest(0.0,
            (
                ({{ p }}) + {{ z }} * {{ z }} / (2.0 * ({{ n }}))
                {{ sign }} {{ z }} * sqrt(
                    greatest(({{ p }}) * (1.0 - ({{ p }})), 0.0) / ({{ n }})
                    + {{ z }} * {{ z }} / (4.0 * ({{ n }}) * ({{ n }}))
                )
            ) / (1.0 + {{ z }} * {{ z }} / ({{ n }}))
        )))
    end)
{%- endmacro %}

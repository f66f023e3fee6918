{#-
    Where an incremental model keeps its watermark: a one-row table next to it, `<model>__watermark`, with the
    latest loaded_at it has accounted for and how many source rows it had seen then. It is written by the
    model's post-hook (incremental_watermark_save) in the same transaction as the model's rows, so the two
    never disagree.
-#}
{% macro incremental_watermark_relation() -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=this.identifier ~ '__watermark', type='table')) }}
{%- endmacro %}

"""The warehouse pipeline: the dbt project run on a home's DuckDB file (or on Spark), and what a build publishes.

`refresh.refresh()` is the one entry point: governance mirrored in → dbt build (failing data tests recorded, the
models they skipped built anyway) → the analysts' snapshot. `dbt_runner` runs any dbt command through dbtRunner;
`spark_lake` is the Spark target's branch (its Parquet sources in, its marts back into DuckDB).
"""

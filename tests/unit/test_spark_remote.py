"""The network Spark target's pieces that need no Spark: which profile outputs are Spark targets, and how a column
read back over Thrift is typed again (spark_remote: exact timestamps, dates, decimals, arrays).
The whole path, against a real Thrift Server, is tests/spark/test_cluster.py (make test-spark-cluster)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from ingest.errors import WarehouseError
from rolloutctl.core.layout import PROJECT_DIR
from rolloutctl.warehouse import spark_remote
from rolloutctl.warehouse.spark_target import SparkTarget, spark_target


@pytest.mark.parametrize(("target", "expected"), [
    ("spark", SparkTarget("spark", "session")),
    ("spark_cluster", SparkTarget("spark_cluster", "thrift")),
    ("duckdb", None),
    (None, None),              # the profile's default: duckdb
    ("no_such_target", None),
])
def test_spark_targets_are_the_profiles_spark_outputs(target, expected):
    assert spark_target(target, PROJECT_DIR) == expected


def test_only_the_session_method_runs_spark_in_process():
    assert not SparkTarget("spark", "session").remote
    assert SparkTarget("spark_cluster", "thrift").remote and SparkTarget("dbx", "http").remote


def test_an_operators_own_output_of_type_spark_is_a_spark_target(tmp_path):
    (tmp_path / "profiles.yml").write_text(
        "rollout:\n  target: prod\n  outputs:\n    prod:\n      type: spark\n      method: thrift\n"
        "      host: \"{{ env_var('NOT_SET_HERE') }}\"\n")
    assert spark_target(None, tmp_path) == SparkTarget("prod", "thrift")


def read(spark_type: str, values: list) -> list:
    return spark_remote._column(values, spark_remote.arrow_type(spark_type)).to_pylist()


def test_timestamps_cross_as_microseconds_and_come_back_in_utc():
    micros = 1_767_323_045_123_456          # 2026-01-02 03:04:05.123456 UTC
    assert spark_remote.select_expression("eval_at", "timestamp") == "unix_micros(`eval_at`) as `eval_at`"
    assert read("timestamp", [micros, None]) == [
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), None]


def test_dates_decimals_and_doubles_are_exact():
    assert spark_remote.select_expression("day", "date") == "unix_date(`day`) as `day`"
    assert read("date", [20455]) == [date(2026, 1, 2)]
    assert read("decimal(38,6)", ["0.100000", None]) == [Decimal("0.100000"), None]
    assert read("double", [0.1 / 3]) == [0.1 / 3]


def test_arrays_cross_as_json_so_quotes_and_commas_survive():
    assert spark_remote.select_expression("ids", "array<string>") == "to_json(`ids`) as `ids`"
    assert read("array<string>", ['["a","b\\"c, d"]', "[]", None]) == [["a", 'b"c, d'], [], None]
    assert spark_remote.arrow_type("array<bigint>") == pa.list_(pa.int64())


def test_identifiers_are_backquoted_with_backquotes_doubled():
    assert spark_remote.select_expression("we`ird", "string") == "`we``ird`"


@pytest.mark.parametrize("spark_type", ["map<string,int>", "struct<a:int>", "array<timestamp>", "binary"])
def test_a_type_that_cannot_be_read_back_exactly_is_an_error_naming_it(spark_type):
    with pytest.raises(WarehouseError, match=spark_type.replace("<", ".").replace(">", ".")):
        spark_remote.arrow_type(spark_type)


def test_a_missing_or_broken_profile_is_no_spark_target_and_left_to_dbt_to_report(tmp_path):
    assert spark_target("spark_cluster", tmp_path) is None
    (tmp_path / "profiles.yml").write_text("rollout: [unclosed\n")
    assert spark_target("spark_cluster", tmp_path) is None

"""A Spark target reached over the network (dbt-spark's thrift method: a Spark Thrift Server in front of a cluster):
is its endpoint there, and the relations it built read back over the same kind of connection dbt built them with.

    check_reachable(target, project_dir)                 # before a build: a one-line ConfigError when it is down
    for schema, name, table in read_relations(target, project_dir, [("marts", None), ("staging", "stg_x")]):
        ...                                              # a pyarrow Table per relation, exact values

Nothing of Spark runs in this process: the connection is dbt-spark's own (its credentials, rendered from the
profile; PyHive underneath), and the rows come back through the DB-API cursor. What travels as text over Thrift is
avoided: each column is selected as something that crosses exactly and is typed again here —
    timestamp  unix_micros(c) → int64 → timestamp[us, UTC]   (no session time zone in between)
    date       unix_date(c)   → int32 → date32
    decimal    string         → decimal128(p, s)
    array<x>   to_json(c)     → list<x>                      (Thrift sends arrays as unescaped text)
    double, float, integers, boolean, string as they are (Thrift's binary double is the value itself).
"""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from ingest.errors import ConfigError, WarehouseError
from rolloutctl.warehouse.spark_target import SparkTarget, credentials

CONNECT_TIMEOUT = 10.0   # seconds to open a TCP connection to the endpoint
FETCH_ROWS = 10_000      # rows per Thrift fetch
LOCAL_TOPOLOGY = "`make spark-cluster-start` (or `python scripts/spark_cluster.py start`)"

_PRIMITIVES = {
    "string": pa.string(), "boolean": pa.bool_(), "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(),
    "bigint": pa.int64(), "float": pa.float32(), "double": pa.float64(),
}


class SparkUnreachable(ConfigError):
    """The endpoint of a network Spark target does not accept connections."""


def endpoint(creds) -> str:
    return f"{creds.host}:{creds.port}"


def check_reachable(target: SparkTarget, project_dir: Path | str) -> str:
    """Open (and close) a TCP connection to the target's endpoint; return "host:port". Raises SparkUnreachable,
    naming the endpoint and how to start one, when nothing answers: called before anything is written."""
    creds = credentials(target, project_dir)
    if target.method != "thrift":     # http/odbc: a URL or a driver's DSN; dbt reports those itself
        return str(creds.host)
    try:
        with socket.create_connection((creds.host, int(creds.port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SparkUnreachable(
            f"the Spark SQL endpoint of target {target.name}, {endpoint(creds)}, does not answer ({reason}); start "
            f"the local topology with {LOCAL_TOPOLOGY}, or point ROLLOUT_SPARK_HOST and ROLLOUT_SPARK_PORT at a "
            f"running Spark Thrift Server. Nothing was built or written") from None
    return endpoint(creds)


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def arrow_type(spark_type: str) -> pa.DataType:
    """The Arrow type a Spark column type (as `describe` prints it) is read back as."""
    t = spark_type.strip().lower()
    if t in _PRIMITIVES:
        return _PRIMITIVES[t]
    if t.startswith(("varchar(", "char(")):
        return pa.string()
    if t == "timestamp":
        return pa.timestamp("us", tz="UTC")
    if t == "date":
        return pa.date32()
    if t.startswith("decimal(") and t.endswith(")"):
        precision, scale = (int(x) for x in t[len("decimal("):-1].split(","))
        return pa.decimal128(precision, scale)
    if t.startswith("array<") and t.endswith(">"):
        element = arrow_type(t[len("array<"):-1])
        if pa.types.is_timestamp(element) or pa.types.is_date(element) or pa.types.is_decimal(element):
            raise WarehouseError(f"Spark type {spark_type} cannot be read back exactly (an array of it)")
        return pa.list_(element)
    raise WarehouseError(f"Spark type {spark_type} is not one rolloutctl reads back (spark_remote.arrow_type)")


def select_expression(column: str, spark_type: str) -> str:
    """How `column` is selected so that its value crosses Thrift exactly (see the module's docstring)."""
    t = spark_type.strip().lower()
    c = _quote(column)
    if t == "timestamp":
        return f"unix_micros({c}) as {c}"
    if t == "date":
        return f"unix_date({c}) as {c}"
    if t.startswith("decimal("):
        return f"cast({c} as string) as {c}"
    if t.startswith("array<"):
        return f"to_json({c}) as {c}"
    return c


def _column(values: list, arrow: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(arrow):
        return pa.array(values, pa.int64()).cast(arrow)
    if pa.types.is_date(arrow):
        return pa.array(values, pa.int32()).cast(arrow)
    if pa.types.is_decimal(arrow):
        return pa.array([None if v is None else Decimal(v) for v in values], arrow)
    if pa.types.is_list(arrow):
        return pa.array([None if v is None else json.loads(v) for v in values], arrow)
    return pa.array(values, arrow)


def _columns(cursor, schema: str, name: str) -> list[tuple[str, str]]:
    """(column, Spark type) of a relation, from `describe` (its rows end at the first blank or # line)."""
    cursor.execute(f"describe {_quote(schema)}.{_quote(name)}")
    columns = []
    for column, spark_type, *_ in cursor.fetchall():
        if not column or column.startswith("#"):
            break
        columns.append((column, spark_type))
    return columns


def read_relations(target: SparkTarget, project_dir: Path | str,
                   relations: list[tuple[str, str | None]]) -> Iterator[tuple[str, str, pa.Table]]:
    """Each relation's rows as a pyarrow Table, over one connection to the target. A name of None stands for every
    table of that schema (Spark's catalog lists them: `show tables`, temporary views left out)."""
    from dbt.adapters.contracts.connection import Connection, ConnectionState
    from dbt.adapters.spark.connections import SparkConnectionManager

    creds = credentials(target, project_dir)
    connection = Connection(type="spark", name="rolloutctl-read-back", credentials=creds,
                            state=ConnectionState.INIT, transaction_open=False, handle=None)
    try:
        SparkConnectionManager.open(connection)     # dbt-spark's own: the build's transport and authentication
    except Exception as exc:  # noqa: BLE001 — dbt wraps the driver's error; its text says what failed
        raise WarehouseError(f"reading the marts back from {endpoint(creds)} (target {target.name}): "
                             f"{' '.join(str(exc).split())}") from None
    cursor = connection.handle.handle.cursor()      # the DB-API connection under dbt's wrapper
    cursor.arraysize = FETCH_ROWS
    try:
        for schema, name in relations:
            names = [name] if name else _tables(cursor, schema)
            for table in names:
                columns = _columns(cursor, schema, table)
                cursor.execute(f"select {', '.join(select_expression(c, t) for c, t in columns)} "
                               f"from {_quote(schema)}.{_quote(table)}")
                rows = cursor.fetchall()
                types = [arrow_type(t) for _, t in columns]
                arrays = [_column([row[i] for row in rows], types[i]) for i in range(len(columns))]
                yield schema, table, pa.Table.from_arrays(arrays, names=[c for c, _ in columns])
    finally:
        try:
            cursor.close()
        finally:
            connection.handle.close()


def _tables(cursor, schema: str) -> list[str]:
    cursor.execute(f"show tables in {_quote(schema)}")
    return sorted(row[1] for row in cursor.fetchall() if not row[2])

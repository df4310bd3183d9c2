"""The row types are the one list of columns: the schema's column types agree with them, and the
partial rows (the cost and usage columns reprice trades, a tree's nodes) are call columns of the
same types."""

from __future__ import annotations

import sqlite3
import types
import typing

import pytest

from llmlog.store.rows import (
    COST_COLUMNS,
    NODE_COLUMNS,
    USAGE_COLUMNS,
    CallNode,
    CallRow,
    ContentRow,
    CostColumns,
    UsageColumns,
)
from llmlog.store.sqlite.migrations import migrate

# SQLite's schema; PostgreSQL's is built to match it (store/postgres/migrations.py)
pytestmark = pytest.mark.sqlite_only

AFFINITY = {"INTEGER": int, "TEXT": str, "REAL": float, "BLOB": bytes}


def _parts(hint: object) -> tuple[set[type], bool]:
    """(the non-None types a hint admits, whether it admits None)."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return {a for a in args if a is not type(None)}, type(None) in args


@pytest.mark.parametrize("table, row_type", [("calls", CallRow), ("call_content", ContentRow)])
def test_each_column_has_the_type_its_schema_declares(tmp_path, table, row_type):
    conn = sqlite3.connect(tmp_path / "blank.db", isolation_level=None)
    migrate(conn)
    hints = typing.get_type_hints(row_type)
    schema = {name: (declared, bool(notnull)) for _, name, declared, notnull, _, _ in
              conn.execute(f"PRAGMA table_info({table})")}
    assert list(hints) == list(schema)
    for name, (declared, notnull) in schema.items():
        admitted, nullable = _parts(hints[name])
        assert admitted == {AFFINITY[declared]}, name
        assert not (notnull and nullable), f"{name} is NOT NULL in {table}"


@pytest.mark.parametrize("part, columns", [(CostColumns, COST_COLUMNS), (UsageColumns, USAGE_COLUMNS),
                                           (CallNode, NODE_COLUMNS)])
def test_the_partial_rows_are_call_columns_of_the_same_types(part, columns):
    calls = typing.get_type_hints(CallRow)
    assert {name: calls[name] for name in typing.get_type_hints(part)} == typing.get_type_hints(part)
    assert columns == tuple(typing.get_type_hints(part))


def test_the_check_fails_on_a_column_typed_against_its_schema():
    """The type check above can fail: a TEXT column typed int does not pass."""
    assert _parts(int | None) == ({int}, True) and _parts(str) == ({str}, False)
    assert _parts(typing.get_type_hints(CallRow)["model"])[0] != {AFFINITY["INTEGER"]}

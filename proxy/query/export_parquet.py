"""The Parquet encoding of an export (`format=parquet`), with pyarrow, an optional extra
(`pip install 'llmlog[parquet]'`). Parquet ends in a footer describing every row group, so it
cannot be written row by row; each batch the store hands over (at most store/batches.py
BATCH_ROWS rows) becomes one row group, written out before the next batch is read, so memory
stays bounded by one batch however large the export.

Columns are typed: integers, floats and booleans as such, `started_at`/`completed_at` as UTC
timestamps in milliseconds, text as strings; values that are objects or lists (tags, metadata,
headers, JSON bodies) as their JSON text, as in CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson


class Fields(Protocol):
    """The chosen fields (proxy/query/export_format.py FieldSet): names as written, the field each
    stands for, and how each is read from a row."""

    @property
    def names(self) -> tuple[str, ...]: ...
    @property
    def canonical(self) -> tuple[str, ...]: ...
    @property
    def getters(self) -> tuple[Callable[[dict], object], ...]: ...

INSTALL_HINT = "format=parquet needs pyarrow, which is not installed: pip install 'llmlog[parquet]'"

INT_FIELDS = frozenset({"status_code", "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                        "reasoning_tokens", "total_tokens", "cost_micros", "depth"})
FLOAT_FIELDS = frozenset({"duration_ms", "ttfb_ms", "cost_usd"})
BOOL_FIELDS = frozenset({"stream", "priced", "do_not_track", "has_content"})
TIME_FIELDS = frozenset({"started_at", "completed_at"})  # read from the stored epoch milliseconds


class ParquetUnavailable(ValueError):
    """pyarrow is not installed; the message says how to install it."""


def available() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


class _Sink:
    """Where the writer puts its bytes until they are handed on: never more than one row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.parts.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class ParquetEncoder:
    """start(), rows(batch) per batch, end(): the file's bytes, in order, each part as soon as written."""

    def __init__(self, fields: Fields):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ParquetUnavailable(INSTALL_HINT) from None
        self.pa, self.pq, self.fields = pa, pq, fields
        types = []
        for canonical in fields.canonical:
            if canonical in INT_FIELDS:
                types.append(pa.int64())
            elif canonical in FLOAT_FIELDS:
                types.append(pa.float64())
            elif canonical in BOOL_FIELDS:
                types.append(pa.bool_())
            elif canonical in TIME_FIELDS:
                types.append(pa.timestamp("ms", tz="UTC"))
            else:
                types.append(pa.string())
        self.schema = pa.schema(list(zip(fields.names, types, strict=True)))
        self.sink = _Sink()
        self.writer: Any = None

    def start(self) -> bytes:
        self.writer = self.pq.ParquetWriter(self.sink, self.schema, compression="zstd")
        return self.sink.drain()

    def _column(self, index: int, rows: Sequence[dict]) -> list:
        canonical, get = self.fields.canonical[index], self.fields.getters[index]
        if canonical in TIME_FIELDS:
            return [row[canonical] for row in rows]
        values = [get(row) for row in rows]
        kind = self.schema.field(index).type
        return [_text(v) for v in values] if kind == self.pa.string() else values

    def rows(self, rows: Sequence[dict]) -> bytes:
        if rows:
            columns = [self.pa.array(self._column(i, rows), type=self.schema.field(i).type)
                       for i in range(len(self.fields.names))]
            self.writer.write_table(self.pa.Table.from_arrays(columns, schema=self.schema), row_group_size=len(rows))
        return self.sink.drain()

    def end(self) -> bytes:
        self.writer.close()
        return self.sink.drain()

    def failed(self, message: str) -> bytes:
        """Nothing: a Parquet file without its footer is unreadable, which is how a reader tells a
        failed export from a complete one."""
        return b""

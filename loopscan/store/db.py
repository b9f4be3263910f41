"""The history file: one DuckDB database, versioned by the migrations in ``migrations/``.

DuckDB lets one process hold a file for writing, and no other process may open it meanwhile,
not even to read. The monitor therefore opens the store for each write and closes it again,
and readers (`loopscan history`) wait up to ``lock_timeout`` for the file to be free.

Every write happens inside ``Store.transaction()``: DuckDB's write-ahead log makes a committed
transaction survive a crash, and an interrupted one leave no rows at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from loopscan.store.errors import StoreError

__all__ = ["Store", "SCHEMA_VERSION", "migrations", "first_row"]


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every migration shipped, in order: ``NNN_name.sql``."""
    found = []
    for entry in resources.files("loopscan.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


SCHEMA_VERSION = migrations()[-1][0]


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple | None:
    """The first row of a query, or None. Reads the whole result: DuckDB refuses further work
    on a connection whose last result was left half-read (as `fetchone` leaves it)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


_LOCKED = "Could not set lock"


class Store:
    """An open history file. Use as a context manager: ``with Store.open(path) as store:``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, lock_timeout: float = 10.0) -> Store:
        """Open (and for writing, create and migrate) the store at `path`."""
        path = Path(path)
        if read_only and not path.is_file():
            raise StoreError(f"{path}: no history there (the monitor writes it: loopscan monitor --store {path})")
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create its folder: {exc.strerror}") from None
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.Error as exc:
                if _LOCKED in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                raise _store_error(path, "cannot open", exc) from None
        store = cls(con, path)
        try:
            store._migrate(read_only)
        except BaseException:
            con.close()
            raise
        return store

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def version(self) -> int:
        row = first_row(self.con, "SELECT max(version) FROM loopscan_schema")
        return int(row[0]) if row and row[0] is not None else 0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commits when the block ends, rolls back if it raises."""
        try:
            self.con.begin()
        except duckdb.Error as exc:
            raise _store_error(self.path, "cannot begin a transaction", exc) from None
        try:
            yield self.con
        except duckdb.Error as exc:
            self._rollback()
            raise _store_error(self.path, "write failed, nothing of it was kept", exc) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.con.commit()
        except duckdb.Error as exc:
            self._rollback()
            raise _store_error(self.path, "commit failed, nothing of it was kept", exc) from None

    def _rollback(self) -> None:
        try:
            self.con.rollback()
        except duckdb.Error:
            pass  # the transaction is gone either way; the original error is what the caller needs

    def _migrate(self, read_only: bool) -> None:
        has_table = first_row(self.con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'loopscan_schema'")[0]
        current = self.version if has_table else 0
        if current > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: history schema {current} is newer than this loopscan's ({SCHEMA_VERSION}); upgrade loopscan")
        pending = [(v, sql) for v, sql in migrations() if v > current]
        if not pending:
            return
        if read_only:
            raise StoreError(f"{self.path}: history schema {current} needs migrating to {SCHEMA_VERSION}; run the monitor once (it migrates on open)")
        with self.transaction() as con:
            con.execute("CREATE TABLE IF NOT EXISTS loopscan_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
            for version, sql in pending:
                con.execute(sql)
                con.execute("INSERT INTO loopscan_schema VALUES (?, now())", [version])


def _store_error(path: Path, what: str, exc: duckdb.Error) -> StoreError:
    # DuckDB's messages start with its error class ("IO Error: ..."); the path and what we
    # were doing come first so the line reads on its own.
    return StoreError(f"{path}: {what}: {' '.join(str(exc).split())}")

"""The Snapshot: every table read from one chain at one block, plus where it came from.

A snapshot is a set of pandas frames with the fixed columns of ``SCHEMA`` (100,000
positions are one table, not 100,000 objects) and a small ``SnapshotMeta``. Stages after
the indexers only read it; it round-trips to Parquet losslessly.
"""

import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pandas as pd

from loopscan.model.errors import NotInSnapshotError, SchemaError, SnapshotFormatError
from loopscan.model.frames import empty_frame, unchecked_frame, validate_frame
from loopscan.model.parquet import read_tables, write_tables
from loopscan.model.schema import SCHEMA, TokenKind

__all__ = ["Snapshot", "SnapshotMeta", "Token"]

_BLOCK_HASH = re.compile(r"0x[0-9a-f]{64}")


def _installed_version() -> str:
    return importlib.metadata.version("loopscan")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SnapshotMeta:
    """Where and when a snapshot was read.

    ``endpoint`` must already be masked (no API keys): it is written to disk as given.
    ``numeraire`` is the unit of ``tokens.price``. ``coverage`` is what the scan read and did not
    (plain JSON, written by ``loopscan.scanner``, read by ``loopscan.report.coverage``); ``None`` where it was not
    recorded (a snapshot read before it existed, or one kept by the history store).
    """

    chain_id: int
    block_number: int
    block_hash: str
    block_timestamp: int
    endpoint: str
    loopscan_version: str = field(default_factory=_installed_version)
    created_at: datetime = field(default_factory=_now)
    numeraire: str = "USD"
    coverage: dict | None = None

    def __post_init__(self) -> None:
        for name in ("chain_id", "block_number", "block_timestamp"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise SchemaError("meta", name, f"{value!r} is not a non-negative int")
        if not _BLOCK_HASH.fullmatch(self.block_hash):
            raise SchemaError("meta", "block_hash", f"{self.block_hash!r} is not a lowercase 0x 32-byte hash")
        if self.created_at.tzinfo is None:
            raise SchemaError("meta", "created_at", "must be timezone-aware")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``created_at`` as ISO 8601)."""
        return {**asdict(self), "created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "SnapshotMeta":
        """Inverse of ``to_dict``; raises ``SnapshotFormatError`` on missing or stray keys (only
        ``coverage`` may be absent: snapshots written before it)."""
        names = {f.name for f in fields(cls)}
        if set(data) != names and set(data) != names - {"coverage"}:
            raise SnapshotFormatError(f"snapshot metadata keys {sorted(data)} differ from {sorted(names)}")
        created_at = datetime.fromisoformat(str(data["created_at"]))
        return cls(**{**data, "created_at": created_at})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Token:
    """One row of ``tokens``, for code that needs a single token rather than a table."""

    address: str
    symbol: str | None
    name: str | None
    decimals: int
    kind: TokenKind
    price: float | None
    price_source: str | None


def _table(name: str) -> pd.DataFrame:
    return field(default_factory=partial(empty_frame, name))  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """All tables of one scan. Table attributes are named as in ``SCHEMA``.

    Warning: frames are mutable; treat a snapshot as read-only after ``validate()``.
    """

    meta: SnapshotMeta
    tokens: pd.DataFrame = _table("tokens")
    vaults: pd.DataFrame = _table("vaults")
    vault_markets: pd.DataFrame = _table("vault_markets")
    holdings: pd.DataFrame = _table("holdings")
    markets: pd.DataFrame = _table("markets")
    market_collaterals: pd.DataFrame = _table("market_collaterals")
    market_params: pd.DataFrame = _table("market_params")
    positions: pd.DataFrame = _table("positions")
    position_collaterals: pd.DataFrame = _table("position_collaterals")
    accounts: pd.DataFrame = _table("accounts")
    emode_categories: pd.DataFrame = _table("emode_categories")
    pools: pd.DataFrame = _table("pools")
    pool_coins: pd.DataFrame = _table("pool_coins")
    ticks: pd.DataFrame = _table("ticks")
    missing: pd.DataFrame = _table("missing")

    @classmethod
    def empty(cls, meta: SnapshotMeta) -> "Snapshot":
        """A snapshot with every table empty."""
        return cls(meta)

    @classmethod
    def from_rows(cls, meta: SnapshotMeta, rows: Mapping[str, Iterable[Mapping[str, object]]]) -> "Snapshot":
        """A snapshot of row dicts by table (``to_frame``'s rules), validated once as a whole: each
        frame checked by ``validate`` alone, not also as it is built."""
        snapshot = cls(meta, **{table: unchecked_frame(table, table_rows) for table, table_rows in rows.items()})
        snapshot.validate()
        return snapshot

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames by table name, in schema order."""
        return {name: getattr(self, name) for name in SCHEMA}

    def validate(self) -> None:
        """Check every table against the schema, and that no row is newer than the snapshot."""
        for table, frame in self.tables().items():
            validate_frame(table, frame)
            late = frame["block"] > self.meta.block_number
            if late.any():
                row = late.index[late.to_numpy()][0]
                detail = f"row {row}: read at block {frame['block'][row]}, after {self.meta.block_number}"
                raise SchemaError(table, "block", detail)

    def to_parquet(self, directory: str | Path) -> Path:
        """Validate, then write one Parquet file per table and ``snapshot.json``."""
        self.validate()
        path = Path(directory)
        write_tables(path, self.tables(), self.meta.to_dict())
        return path

    @classmethod
    def from_parquet(cls, directory: str | Path) -> "Snapshot":
        """Read a directory written by ``to_parquet``; the result is validated."""
        meta, tables = read_tables(Path(directory))
        snapshot = cls(SnapshotMeta.from_dict(meta), **tables)
        snapshot.validate()
        return snapshot

    def token(self, address: str) -> Token:
        """The token at ``address`` (any case); ``NotInSnapshotError`` if absent."""
        rows = self.tokens[self.tokens["address"] == address.lower()]
        if rows.empty:
            raise NotInSnapshotError(f"token {address} is not in the snapshot")
        row = rows.iloc[0]
        return Token(
            address=row["address"],
            symbol=None if pd.isna(row["symbol"]) else row["symbol"],
            name=None if pd.isna(row["name"]) else row["name"],
            decimals=int(row["decimals"]),
            kind=TokenKind(row["kind"]),
            price=None if pd.isna(row["price"]) else float(row["price"]),
            price_source=None if pd.isna(row["price_source"]) else row["price_source"],
        )

    def token_address(self, name: str) -> str:
        """The address of the token `name` names: an address (any case) or a symbol (exact, else
        the one token whose symbol matches ignoring case). ``NotInSnapshotError`` names an unknown
        one, and lists the candidates of an ambiguous symbol.

        Symbols are attacker-controlled: several tokens may claim the same one, so an ambiguous
        symbol is an error, never the first match.
        """
        wanted = name.strip()
        addresses = set(self.tokens["address"])
        if wanted.lower() in addresses:
            return wanted.lower()
        symbols = [(a, s) for a, s in zip(self.tokens["address"], self.tokens["symbol"], strict=True) if isinstance(s, str)]
        for match in ([a for a, s in symbols if s == wanted], [a for a, s in symbols if s.lower() == wanted.lower()]):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                raise NotInSnapshotError(f"token {wanted!r} is ambiguous: {len(match)} tokens have that symbol "
                                         f"({', '.join(sorted(match))}); name one by its address")  # fmt: skip
        raise NotInSnapshotError(f"no token {wanted!r} in the snapshot (neither an address nor a symbol of one)")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame)}" for name, frame in self.tables().items())
        return f"Snapshot(chain_id={self.meta.chain_id}, block={self.meta.block_number}, {sizes})"

"""The table printed at the end of a scan: what was read, per table and per protocol."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loopscan.model import Snapshot
from loopscan.report.units import account
from loopscan.textsafe import safe_text

__all__ = ["print_scan_summary"]


def print_scan_summary(console: Console, snap: Snapshot, seconds: float, http_requests: int | None = None) -> None:
    meta = snap.meta
    console.print(
        f"chain {meta.chain_id}, block {meta.block_number} ({meta.block_hash[:10]}…), "
        f"read from {meta.endpoint} in {seconds:.2f} s"
        + (f" with {http_requests} HTTP requests" if http_requests is not None else ""),
        markup=False,
    )
    table = Table(title="What was read", title_justify="left")
    table.add_column("table")
    table.add_column("protocol / kind")
    table.add_column("rows", justify="right")
    for name, frame in snap.tables().items():
        if frame.empty:
            continue
        key = "protocol" if "protocol" in frame else "kind" if "kind" in frame else "venue" if "venue" in frame else None
        groups = frame.groupby(key).size().items() if key else [("", len(frame))]
        for group, count in groups:
            table.add_row(name, safe_text(str(group)), f"{count:,}")
    console.print(table)
    if not snap.vaults.empty:
        vaults = Table(title="Vaults: reported and visible backing", title_justify="left")
        for col in ("vault", "kind", "asset", "total assets", "visible", "opaque share"):
            vaults.add_column(col, justify="right" if col in ("total assets", "visible", "opaque share") else "left")
        decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"], strict=True))
        symbols = dict(zip(snap.tokens["address"], snap.tokens["symbol"].fillna("?"), strict=True))
        for v in snap.vaults.itertuples():
            d = int(decimals.get(v.asset, 0))
            share = v.opaque_assets / v.total_assets if v.total_assets else 0.0
            vaults.add_row(
                safe_text(symbols.get(v.vault, v.vault)), v.kind, safe_text(symbols.get(v.asset, v.asset)),
                f"{v.total_assets / 10**d:,.0f}", f"{v.visible_assets / 10**d:,.0f}", f"{share:.1%}",
            )  # fmt: skip
        console.print(vaults)
    left_out = snap.missing.loc[snap.missing["kind"] == "protocol", "key"].tolist()
    if left_out:
        console.print(f"left out by --protocols: {', '.join(left_out)}; figures that rest on them are not computable",
                      markup=False, style="yellow")  # fmt: skip
    failed = snap.missing[snap.missing["kind"] != "protocol"]
    console.print(
        f"missing: {len(failed)} read(s) failed" + (" — every figure that needed one is not computable" if len(failed) else ""),
        markup=False,
        style="bold red" if len(failed) else None,
    )
    if len(failed):
        _print_failed(console, failed)


SHOWN_FAILURES = 10


def _print_failed(console: Console, failed) -> None:
    """The failed reads themselves (the first few; all of them are in the snapshot's `missing` table)."""
    table = Table(title="Reads that failed", title_justify="left")
    for col in ("kind", "contract", "key", "method", "reason"):
        table.add_column(col, overflow="fold")
    for m in failed.head(SHOWN_FAILURES).itertuples():
        key = m.key if isinstance(m.key, str) else ""
        table.add_row(safe_text(m.kind), safe_text(account(m.address)) if isinstance(m.address, str) else "",
                      safe_text(key if len(key) <= 14 else f"{key[:10]}…"), safe_text(m.method), safe_text(m.reason))  # fmt: skip
    console.print(table)
    if len(failed) > SHOWN_FAILURES:
        console.print(f"… and {len(failed) - SHOWN_FAILURES} more in the snapshot's `missing` table (--out)", markup=False)

"""A readable account of what a devnet holds, printed by `loopscan devnet up`."""

from __future__ import annotations

import json
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.scenario import parts
from loopscan.devnet.tools import node_modules
from loopscan.textsafe import safe_text

__all__ = ["print_summary", "provenance", "human"]


def _version(package: str) -> str:
    manifest = node_modules(install=False) / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else "?"


def provenance(contract: str) -> str:
    """`package@version` a deployed contract was built from, or `ours (contracts/...)`."""
    if contract == "multicall3":
        return "ours: contracts/utils/Multicall3.sol (Multicall3-compatible)"
    # Which package each deployed contract comes from (each part says); versions from node_modules.
    package = next((p.PROVENANCE[contract] for _, p in parts() if contract in p.PROVENANCE), None)
    return f"{package}@{_version(package)}" if package else "ours: contracts/"


def human(units: str | int, decimals: int) -> str:
    return f"{Decimal(int(units)).scaleb(-decimals):,.2f}"


def print_summary(console: Console, manifest: dict) -> None:
    console.print(
        f"devnet {manifest['scenario']}: chain {manifest['chain_id']}, block {manifest['block']}, "
        f"timestamp {manifest['timestamp']}",
        markup=False,
    )
    contracts = Table(title="Protocol contracts (the protocols' own code)", title_justify="left")
    contracts.add_column("contract")
    contracts.add_column("address", no_wrap=True, min_width=42)
    contracts.add_column("from")
    for name, address in manifest["contracts"].items():
        contracts.add_row(name, address, provenance(name))
    console.print(contracts)

    tokens = Table(title="Tokens (ours: contracts/)", title_justify="left")
    for col in ("id", "symbol", "kind", "on"):
        tokens.add_column(col)
    tokens.add_column("address", no_wrap=True, min_width=42)
    for tid, t in manifest["tokens"].items():
        tokens.add_row(safe_text(tid), safe_text(t["symbol"] or ""), t["kind"], safe_text(t.get("underlying", "")), t["address"])
    console.print(tokens)

    counts = [words for _, part in parts() if (words := part.summary(console, manifest))]
    console.print(
        f"seeded positions: {', '.join(counts)}; "
        f"{len(manifest['accounts'])} accounts; events: {', '.join(manifest['events']) or 'none'}",
        markup=False,
    )

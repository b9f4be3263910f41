"""A readable account of what a devnet holds, printed by `loopscan devnet up`."""

from __future__ import annotations

import json
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.tools import node_modules
from loopscan.textsafe import safe_text

__all__ = ["print_summary", "provenance"]

# Which package each deployed contract comes from; versions are read from node_modules.
_FROM_PACKAGE = {
    "morpho_blue": "@morpho-org/morpho-blue",
    "adaptive_curve_irm": "sphere-mezo-solidity-files",  # = morpho-blue-irm AdaptiveCurveIrm v1.0.0
    "metamorpho_factory": "sphere-mezo-solidity-files",  # = metamorpho v1.0
    "public_allocator": "sphere-mezo-solidity-files",  # = public-allocator v1.0.0
    "aave_pool_addresses_provider": "@aave/core-v3",
    "aave_pool": "@aave/core-v3",
    "aave_pool_configurator": "@aave/core-v3",
    "aave_oracle": "@aave/core-v3",
    "aave_protocol_data_provider": "@aave/core-v3",
    "uniswap_v3_factory": "@uniswap/v3-core",
    "uniswap_v3_position_manager": "@uniswap/v3-periphery",
    "uniswap_v3_swap_router": "@uniswap/v3-periphery",
    "uniswap_v3_quoter_v2": "@uniswap/v3-periphery",
}


def _version(package: str) -> str:
    manifest = node_modules(install=False) / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else "?"


def provenance(contract: str) -> str:
    """`package@version` a deployed contract was built from, or `ours (contracts/...)`."""
    if contract == "multicall3":
        return "ours: contracts/utils/Multicall3.sol (Multicall3-compatible)"
    package = _FROM_PACKAGE.get(contract)
    return f"{package}@{_version(package)}" if package else "ours: contracts/"


def _human(units: str | int, decimals: int) -> str:
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
        tokens.add_row(safe_text(tid), safe_text(t["symbol"]), t["kind"], safe_text(t.get("underlying", "")), t["address"])
    console.print(tokens)

    decimals = {tid: t["decimals"] for tid, t in manifest["tokens"].items()}
    if manifest["morpho_markets"]:
        markets = Table(title="Morpho Blue markets: seeded supply and borrow", title_justify="left")
        for col in ("market", "LLTV", "oracle", "supplied", "borrowed"):
            markets.add_column(col, justify="right" if col in ("LLTV", "supplied", "borrowed") else "left")
        for mid, m in manifest["morpho_markets"].items():
            rows = [p for p in manifest["positions"]["morpho"] if p["market"] == mid]
            loan = decimals[m["loan_token"]]
            supplied = sum(int(p.get("supply_assets", 0)) for p in rows)
            borrowed = sum(int(p.get("borrow_assets", 0)) for p in rows)
            markets.add_row(safe_text(mid), f"{int(m['lltv']) / 1e16:.1f} %", m["oracle_kind"],
                            _human(supplied, loan), _human(borrowed, loan))  # fmt: skip
        console.print(markets)
    if manifest["aave_reserves"]:
        reserves = Table(title="Aave v3 reserves: seeded supply and borrow", title_justify="left")
        for col in ("asset", "supplied", "borrowed"):
            reserves.add_column(col, justify="left" if col == "asset" else "right")
        for asset in manifest["aave_reserves"]:
            rows = [p for p in manifest["positions"]["aave"] if p["asset"] == asset]
            reserves.add_row(
                safe_text(asset),
                _human(sum(int(p.get("supplied", 0)) for p in rows), decimals[asset]),
                _human(sum(int(p.get("borrowed", 0)) for p in rows), decimals[asset]),
            )
        console.print(reserves)
    counts = {k: len(v) for k, v in manifest["positions"].items()}
    console.print(
        f"seeded positions: {counts['morpho']} Morpho, {counts['aave']} Aave, {counts['uniswap']} Uniswap v3 LP; "
        f"{len(manifest['accounts'])} accounts; events: {', '.join(manifest['events']) or 'none'}",
        markup=False,
    )

"""ERC-4626 vaults and backed stablecoins: what each reports, and what of it the chain can show.

A vault (anything that mints a receipt for deposits) reports its total assets; its *visible*
backing is what the chain shows it and its strategy accounts (`holders` in the deployments
file) holding: balances of the asset, and supply positions in lending markets (joined by the
scan from the lending indexers' rows). The difference, `opaque_assets`, is backing nobody can
verify on chain — the off-chain fund behind Stream's xUSD.

A backed stablecoin (deUSD) has no `totalAssets`: what it owes is its supply at par, in its
reserve token's units; its reserve token is read from `reserve()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loopscan.chains import Deployments
from loopscan.protocols.base import Rows, ScanContext, read

__all__ = ["VaultIndexer", "VaultRaw"]


def plan(deployments: Deployments, name: str) -> list[VaultIndexer]:
    """One indexer for the ERC-4626 vaults and backed stablecoins the deployments list."""
    listed = [(c.address, "erc4626", c.holders) for c in deployments.find("erc4626", "vault")]
    listed += [(c.address, "backed", c.holders) for c in deployments.find("stablecoin", "backed")]
    return [VaultIndexer(listed)] if listed else []


@dataclass
class VaultRaw:
    vaults: dict[str, dict] = field(default_factory=dict)
    balances: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (vault, holder, token) -> amount


class VaultIndexer:
    """Reads ERC-4626 vaults (`kind = "erc4626"`) and backed stablecoins (`kind = "backed"`)."""

    name = "erc4626"

    def __init__(self, vaults: list[tuple[str, str, tuple[str, ...]]]) -> None:
        # (address, kind, holders besides the vault itself)
        self.vaults = [(a.lower(), kind, tuple(h.lower() for h in holders)) for a, kind, holders in vaults]

    def holders(self) -> dict[str, tuple[str, ...]]:
        """Accounts whose positions back each vault: the vault itself and its strategy accounts."""
        return {address: (address, *extra) for address, _, extra in self.vaults}

    async def fetch(self, ctx: ScanContext) -> VaultRaw:
        raw = VaultRaw()
        reads = {"erc4626": ("asset()", "totalAssets()", "totalSupply()", "decimals()"),
                 "backed": ("reserve()", "totalSupply()", "decimals()")}  # fmt: skip
        types = {"asset()": "address", "reserve()": "address", "totalAssets()": "uint256", "totalSupply()": "uint256",
                 "decimals()": "uint8"}  # fmt: skip
        got = await ctx.read_round(
            {(vault, fn): read("vault", vault, fn, types=types[fn]) for vault, kind, _ in self.vaults for fn in reads[kind]}
        )
        answers: dict[str, dict[str, int | str]] = {}
        for vault, kind, _ in self.vaults:
            for fn in reads[kind]:
                if (value := got[vault, fn]) is not None:
                    answers.setdefault(vault, {})[fn] = value
        for vault, kind, holders in self.vaults:
            got = answers.get(vault, {})
            if len(got) != len(reads[kind]):
                continue  # a read failed: recorded as missing above
            raw.vaults[vault] = {
                "kind": kind, "asset": got["asset()" if kind == "erc4626" else "reserve()"], "holders": (vault, *holders),
                "total_supply": got["totalSupply()"], "decimals": got["decimals()"],
                "total_assets": got["totalAssets()"] if kind == "erc4626" else None,
            }  # fmt: skip
        await self._fetch_balances(ctx, raw)
        ctx.progress("vaults", len(raw.vaults))
        return raw

    async def _fetch_balances(self, ctx: ScanContext, raw: VaultRaw) -> None:
        keys = [(v, h, info["asset"]) for v, info in raw.vaults.items() for h in info["holders"]]
        # A backed stablecoin's par value needs its reserve's decimals, read with the balances.
        assets = sorted({info["asset"] for info in raw.vaults.values() if info["kind"] == "backed"})
        reads = {key: read("holding", key[2], "balanceOf(address)", key[1], key=f"{key[0]}:{key[1]}") for key in keys}
        reads |= {a: read("token", a, "decimals()", types="uint8") for a in assets}
        got = await ctx.read_round(reads)
        for key in keys:
            if (amount := got[key]) is not None:
                raw.balances[key] = amount
            else:
                raw.vaults[key[0]]["incomplete"] = True
        for asset in assets:
            if (decimals := got[asset]) is None:
                continue
            for info in raw.vaults.values():
                if info["asset"] == asset and info["kind"] == "backed":
                    info["asset_decimals"] = decimals

    def transform(self, raw: VaultRaw, block: int) -> Rows:
        vaults, holdings = [], []
        for vault, info in raw.vaults.items():
            if info.get("incomplete"):
                continue  # a holding could not be read: its backing is unknown, not zero
            total = info["total_assets"]
            if info["kind"] == "backed":
                if "asset_decimals" not in info:
                    continue
                # Claims at par: supply in the reserve's units (rounded down).
                total = info["total_supply"] * 10 ** info["asset_decimals"] // 10 ** info["decimals"]
            vaults.append(
                {"block": block, "vault": vault, "share_token": vault, "asset": info["asset"],
                 "kind": "erc4626" if info["kind"] == "erc4626" else "backed_stablecoin",
                 "total_assets": total, "total_supply": info["total_supply"]}
            )  # fmt: skip
        for (vault, holder, token), amount in raw.balances.items():
            if vault in raw.vaults and not raw.vaults[vault].get("incomplete") and amount:
                holdings.append(
                    {"block": block, "vault": vault, "holder": holder, "token": token, "protocol": None,
                     "protocol_address": None, "market_id": None, "amount": amount, "read_method": "balanceOf"}
                )  # fmt: skip
        return {"vaults": vaults, "holdings": holdings}

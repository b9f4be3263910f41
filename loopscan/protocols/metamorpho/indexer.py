"""MetaMorpho curator vaults: found from their factories' `CreateMetaMorpho` logs, then their
asset, totals, supply and withdraw queues and per-market caps at the pinned block.

The Morpho positions a vault holds are read by the Morpho Blue indexer (the vault is an
account there, found from its `Supply` logs); the scan joins them as the vault's holdings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.protocols.base import Rows, ScanContext, read, topic_address

__all__ = ["MetaMorphoIndexer", "MetaMorphoRaw", "CREATE_METAMORPHO"]

CREATE_METAMORPHO = "0x" + keccak(text="CreateMetaMorpho(address,address,address,uint256,address,string,string,bytes32)").hex()
# metamorpho v1.0 (commit 380bf7bf) src/libraries/ConstantsLib.sol: a queue holds at most 30 markets.
MAX_QUEUE_LENGTH = 30
_SCALAR_TYPES = {"asset()": "address", "totalAssets()": "uint256", "totalSupply()": "uint256",
                 "supplyQueueLength()": "uint256", "withdrawQueueLength()": "uint256", "MORPHO()": "address"}  # fmt: skip
_SCALARS = tuple(_SCALAR_TYPES)


def plan(deployments: Deployments, name: str) -> list[MetaMorphoIndexer]:
    """One indexer for every MetaMorpho factory the deployments list (none if they list none)."""
    factories = [(c.address, c.start_block) for c in deployments.find(name, "factory")]
    return [MetaMorphoIndexer(factories)] if factories else []


@dataclass
class MetaMorphoRaw:
    vaults: dict[str, dict] = field(default_factory=dict)  # vault -> scalars, queues, caps


class MetaMorphoIndexer:
    name = "metamorpho"

    def __init__(self, factories: list[tuple[str, int | None]]) -> None:
        self.factories = [(address.lower(), start) for address, start in factories]

    async def fetch(self, ctx: ScanContext) -> MetaMorphoRaw:
        raw = MetaMorphoRaw()
        found: list[str] = []
        for factory, start in self.factories:
            found += [topic_address(log["topics"][1]) for log in await ctx.logs(factory, [CREATE_METAMORPHO], start)]
        got = await ctx.read_round({(v, fn): read("vault", v, fn, types=_SCALAR_TYPES[fn]) for v in found for fn in _SCALARS})
        for vault in found:
            values = []
            for fn in _SCALARS:
                values.append(got[vault, fn])
                if values[-1] is None:
                    break  # one miss per vault: the first getter that could not be read
            else:
                asset, total_assets, total_supply, n_supply, n_withdraw, morpho = values
                if max(n_supply, n_withdraw) > MAX_QUEUE_LENGTH:  # never a MetaMorpho's: reading it would not end
                    ctx.miss("vault", vault, None, "supplyQueueLength()/withdrawQueueLength()",
                             f"queue lengths {n_supply}/{n_withdraw} exceed MAX_QUEUE_LENGTH {MAX_QUEUE_LENGTH}")
                    continue
                raw.vaults[vault] = {
                    "asset": asset, "total_assets": total_assets, "total_supply": total_supply, "morpho": morpho,
                    "n_supply": n_supply, "n_withdraw": n_withdraw,
                }  # fmt: skip
        await self._fetch_queues(ctx, raw)
        ctx.progress("metamorpho: vaults", len(raw.vaults))
        return raw

    async def _fetch_queues(self, ctx: ScanContext, raw: MetaMorphoRaw) -> None:
        reads = {}
        for vault, v in raw.vaults.items():
            for queue, n in (("supplyQueue", v["n_supply"]), ("withdrawQueue", v["n_withdraw"])):
                for k in range(n):
                    reads[vault, queue, k] = read("vault", vault, f"{queue}(uint256)", k, types="bytes32", key=queue)
        got = await ctx.read_round(reads)
        for vault, queue, k in reads:
            if (market_id := got[vault, queue, k]) is None:
                raw.vaults[vault]["incomplete"] = True
                continue
            raw.vaults[vault].setdefault(queue, []).append("0x" + market_id.hex())
        ids = [(vault, i) for vault, v in raw.vaults.items() for i in dict.fromkeys(v.get("supplyQueue", []) + v.get("withdrawQueue", []))]
        # MarketConfig (ConfigLib, metamorpho v1.0): uint184 cap, bool enabled, uint64 removableAt.
        got = await ctx.read_round({
            (vault, i): read("vault", vault, "config(bytes32)", bytes.fromhex(i[2:]), types=("uint184", "bool", "uint64"), key=i)
            for vault, i in ids
        })  # fmt: skip
        for vault, market_id in ids:
            if (config := got[vault, market_id]) is not None:
                raw.vaults[vault].setdefault("caps", {})[market_id] = (config[0], int(config[1]))

    def transform(self, raw: MetaMorphoRaw, block: int) -> Rows:
        vaults, markets = [], []
        for vault, v in raw.vaults.items():
            if v.get("incomplete"):
                continue  # a queue entry could not be read: the vault's allocation is unknown
            vaults.append(
                {"block": block, "vault": vault, "share_token": vault, "asset": v["asset"], "kind": "metamorpho",
                 "total_assets": v["total_assets"], "total_supply": v["total_supply"]}
            )  # fmt: skip
            supply, withdraw = v.get("supplyQueue", []), v.get("withdrawQueue", [])
            for market_id, (cap, enabled) in v.get("caps", {}).items():
                markets.append(
                    {
                        "block": block, "vault": vault, "protocol_address": v["morpho"], "market_id": market_id,
                        "cap": cap, "enabled": enabled,
                        "supply_queue_index": supply.index(market_id) if market_id in supply else None,
                        "withdraw_queue_index": withdraw.index(market_id) if market_id in withdraw else None,
                    }
                )  # fmt: skip
        return {"vaults": vaults, "vault_markets": markets}

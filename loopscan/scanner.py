"""Index a chain into one block-pinned Snapshot: validate, plan, collect, assemble.

    >>> snap = loopscan.index("http://127.0.0.1:8545", deployments="mainnet")   # doctest: +SKIP

1. *Validate*: the node answers, and is the chain the deployments describe.
2. *Plan*: one indexer per protocol the deployments list (and the user asked for).
3. *Collect*: pin a block, run the lending and vault indexers concurrently, then token
   metadata and the DEX pools of the tokens found, all at the pin; re-check the pin's hash.
4. *Assemble*: rows into the Snapshot's tables, vault holdings joined from lending positions,
   and what could not be read in `missing`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from loopscan.chains import Deployments, known_chains, load_deployments
from loopscan.errors import LoopscanError
from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.protocols.aave_v3 import AaveV3Indexer
from loopscan.protocols.base import Progress, Rows, ScanContext, merge_rows
from loopscan.protocols.holdings import complete_vaults, position_holdings
from loopscan.protocols.metamorpho import MetaMorphoIndexer
from loopscan.protocols.morpho_blue import MorphoBlueIndexer
from loopscan.protocols.tokens import TokenIndexer
from loopscan.protocols.uniswap_v3 import UniswapV3Indexer
from loopscan.protocols.vaults import VaultIndexer
from loopscan.rpc import Call, RetryPolicy, RpcClient, encode_call, mask_url

__all__ = ["index", "index_async", "resolve_deployments", "PROTOCOLS", "IndexError_"]

PROTOCOLS = ("morpho_blue", "metamorpho", "aave_v3", "spark", "vaults", "uniswap_v3")


class IndexError_(LoopscanError):  # noqa: N801 — `IndexError` is a builtin
    """The scan cannot start: wrong chain, unknown protocol, nothing to index."""


def plan(deployments: Deployments, protocols: Sequence[str] | None = None) -> list:
    """The indexers for `protocols` (default: every one the deployments have contracts for)."""
    wanted = set(protocols or PROTOCOLS)
    unknown = wanted - set(PROTOCOLS)
    if unknown:
        raise IndexError_(f"unknown protocol(s) {', '.join(sorted(unknown))}; known: {', '.join(PROTOCOLS)}")
    out: list = []
    if "morpho_blue" in wanted:
        out += [MorphoBlueIndexer(c.address, c.start_block) for c in deployments.find("morpho_blue", "core")]
    if "metamorpho" in wanted and deployments.find("metamorpho", "factory"):
        out.append(MetaMorphoIndexer([(c.address, c.start_block) for c in deployments.find("metamorpho", "factory")]))
    for name in ("aave_v3", "spark"):
        if name in wanted:
            out += [AaveV3Indexer(c.address, c.start_block, name=name) for c in deployments.find(name, "pool")]
    if "vaults" in wanted:
        listed = [(c.address, "erc4626", c.holders) for c in deployments.find("erc4626", "vault")]
        listed += [(c.address, "backed", c.holders) for c in deployments.find("stablecoin", "backed")]
        if listed:
            out.append(VaultIndexer(listed))
    return out


async def index_async(
    rpc_url: str,
    *,
    deployments: Deployments | str | Path = "mainnet",
    block: int | None = None,
    protocols: Sequence[str] | None = None,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    max_concurrency: int = 8,
    timeout: float = 30.0,
) -> Snapshot:
    """`index` for callers already in an event loop."""
    deps = deployments if isinstance(deployments, Deployments) else load_deployments(deployments)
    indexers = plan(deps, protocols)
    if not indexers:
        raise IndexError_(f"{deps.source} lists no contracts for {', '.join(protocols or PROTOCOLS)}")
    endpoint = mask_url(rpc_url)
    async with RpcClient(rpc_url, retry=retry or RetryPolicy(), max_concurrency=max_concurrency, timeout=timeout,
                         observer=_rpc_progress(progress)) as client:  # fmt: skip
        chain_id = await client.chain_id()
        if chain_id != deps.chain_id:
            raise IndexError_(f"{endpoint} is chain {chain_id}, but {deps.source} describes chain {deps.chain_id}")
        pin = await client.pin(block)
        header = await client.get_block(pin)
        if header is None:
            raise IndexError_(f"{endpoint} does not know block {pin.number}")
        ctx = ScanContext(client, pin, int(header["timestamp"], 16), deps)
        await _check_contracts(ctx, deps)
        if progress is not None:
            ctx.progress = progress
        raws = await asyncio.gather(*(ix.fetch(ctx) for ix in indexers))
        rows = merge_rows([ix.transform(raw, pin.number) for ix, raw in zip(indexers, raws, strict=True)])
        tokens = _referenced_tokens(rows)
        extra: list[Rows] = []
        if "uniswap_v3" in (protocols or PROTOCOLS):
            for c in deps.find("uniswap_v3", "factory"):
                dex = UniswapV3Indexer(c.address, c.start_block, tokens=tokens)
                extra.append(dex.transform(await dex.fetch(ctx), pin.number))
        # Token metadata last, so that the pools' other coins are described too.
        tokens |= {p[k] for part in extra for p in part.get("pools", []) for k in ("token0", "token1")}
        token_indexer = TokenIndexer(tokens)
        extra.append(token_indexer.transform(await token_indexer.fetch(ctx), pin.number))
        await client.verify_pin(pin)
    rows = merge_rows([rows, *extra])
    rows["holdings"] = rows.get("holdings", []) + position_holdings(rows, pin.number, _holders(indexers))
    rows["vaults"] = complete_vaults(rows.get("vaults", []), rows["holdings"])
    rows["missing"] = ctx.missing
    meta = SnapshotMeta(
        chain_id=chain_id,
        block_number=pin.number,
        block_hash=pin.hash.lower(),
        block_timestamp=ctx.timestamp,
        endpoint=endpoint,
    )
    snapshot = Snapshot(meta, **{table: to_frame(table, table_rows) for table, table_rows in rows.items()})
    snapshot.validate()
    return snapshot


def _rpc_progress(progress: Progress | None):
    """The RPC client's counters as two progress stages: calls answered, and retries once any."""
    if progress is None:
        return None

    def observe(stats) -> None:
        progress("rpc: calls", stats.calls)
        if stats.retries:
            progress("rpc: retries", stats.retries)

    return observe


def index(rpc_url: str, **kwargs) -> Snapshot:
    """Read every position the deployments point at, at one block, into a Snapshot.

    `deployments` is a chain name (`"mainnet"`), a deployments TOML file, a devnet manifest
    JSON, or a `Deployments`; `block` defaults to the node's latest; `protocols` narrows the
    scan (see `PROTOCOLS`). Raises a `LoopscanError` subclass naming what failed.
    """
    return asyncio.run(index_async(rpc_url, **kwargs))


# A view each kind of contract answers, to catch a deployments entry that points elsewhere.
_PROBES = {
    ("morpho_blue", "core"): "feeRecipient()",
    ("metamorpho", "factory"): "MORPHO()",
    ("aave_v3", "pool"): "ADDRESSES_PROVIDER()",
    ("spark", "pool"): "ADDRESSES_PROVIDER()",
    ("uniswap_v3", "factory"): "owner()",
    ("erc4626", "vault"): "asset()",
    ("stablecoin", "backed"): "totalSupply()",
}


async def _check_contracts(ctx: ScanContext, deps: Deployments) -> None:
    """Every contract the scan starts from has code and answers as its kind does, at the pin."""
    contracts = [c for c in deps.contracts if (c.protocol, c.kind) in _PROBES]
    results = await ctx.calls([Call(c.address, encode_call(_PROBES[(c.protocol, c.kind)])) for c in contracts])
    for c, result in zip(contracts, results, strict=True):
        if not result.success or len(result.return_data) < 32:
            raise IndexError_(
                f"{deps.source}: {c.protocol} {c.kind} at {c.address} does not answer "
                f"{_PROBES[(c.protocol, c.kind)]} at block {ctx.block}: not what the deployments say it is"
            )


def resolve_deployments(
    rpc_url: str, *, chain: str | None, deployments: Path | None, devnet_manifest: Path | None = None
) -> Deployments:
    """What to scan: a file given, a chain named, or the known chain the node says it is
    (a devnet's own manifest for anvil's chain id 31337)."""
    if deployments is not None:
        return load_deployments(deployments)
    if chain is not None:
        return load_deployments(chain)
    chain_id = asyncio.run(_chain_id(rpc_url))
    for name in known_chains():
        known = load_deployments(name)
        if known.chain_id == chain_id:
            return known
    if chain_id == 31337 and devnet_manifest is not None and devnet_manifest.is_file():
        return load_deployments(devnet_manifest)
    raise IndexError_(
        f"{mask_url(rpc_url)} is chain {chain_id}, which loopscan has no deployments for: "
        "pass --deployments FILE (a TOML file, or a devnet manifest)"
    )


async def _chain_id(rpc_url: str) -> int:
    async with RpcClient(rpc_url) as client:
        return await client.chain_id()


def _referenced_tokens(rows: Rows) -> set[str]:
    found: set[str] = set()
    for m in rows.get("markets", []):
        found.update(t for t in (m["loan_token"], m["collateral_token"]) if t)
    for v in rows.get("vaults", []):
        found.update((v["share_token"], v["asset"]))
    found.discard("0x" + "00" * 20)
    return found


def _holders(indexers: list) -> dict[str, tuple[str, ...]]:
    """Accounts whose positions back each vault: the vault itself and its strategy accounts."""
    holders: dict[str, tuple[str, ...]] = {}
    for ix in indexers:
        if isinstance(ix, VaultIndexer):
            holders.update({address: (address, *extra) for address, _, extra in ix.vaults})
    return holders

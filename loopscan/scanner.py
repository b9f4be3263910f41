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
import functools
import gc
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from loopscan.chains import Deployments, known_chains, load_deployments
from loopscan.chains.deployments import HasManifest
from loopscan.errors import LoopscanError
from loopscan.model import ZERO_ADDRESS, Snapshot, SnapshotMeta
from loopscan.protocols import registry
from loopscan.protocols.base import Progress, Rows, ScanContext, merge_rows
from loopscan.protocols.holdings import complete_vaults, position_holdings
from loopscan.protocols.reuse import PositionReuse
from loopscan.protocols.tokens import TokenIndexer
from loopscan.rpc import Call, LogCache, RetryPolicy, RpcClient, encode_call, mask_url

__all__ = ["index", "index_async", "resolve_deployments", "IndexError_", "plan"]


class IndexError_(LoopscanError):  # noqa: N801 — `IndexError` is a builtin
    """The scan cannot start: wrong chain, unknown protocol, nothing to index."""


def _wanted(protocols: Sequence[str] | None, role: str | None = None) -> list[str]:
    registry.check_names(protocols or (), "--protocols")
    if protocols is None:  # by default, what the solver can use
        return [n for n in registry.names(role) if registry.spec(n).solved]
    return [n for n in registry.names(role) if n in protocols]


def _left_out(deps: Deployments, protocols: Sequence[str] | None) -> list[str]:
    """The protocols a default scan of these deployments reads that `protocols` leaves out."""
    if protocols is None:
        return []
    present = {c.protocol for c in deps.contracts}
    return [n for n in _wanted(None) if n not in protocols and ({n} | {p for p, _ in registry.spec(n).probes}) & present]


def plan(deployments: Deployments, protocols: Sequence[str] | None = None) -> list:
    """The lending and vault indexers for `protocols` (default: every registered one the solver
    applies) that the deployments have contracts for; venues are planned once the tokens are known."""
    out: list = []
    for name in _wanted(protocols):
        spec = registry.spec(name)
        if spec.role != "venue":
            out += spec.load("indexer").plan(deployments, name)
    return out


def _collector_paused(scan):
    """Run `scan` with Python's cyclic garbage collector paused (restored after).

    A scan holds millions of small acyclic objects until it ends (at 100k positions, ~200k parsed
    logs of a dozen strings each, then the reads and rows): reference counting frees them, the
    cyclic collector can free none of them, yet it walks them again at every full collection,
    which took ~0.6–1 s of a 100k scan's CPU here. Warning: the pause is process-wide for the
    scan's duration; cyclic garbage made meanwhile elsewhere is collected once it ends.
    """

    @functools.wraps(scan)
    async def run(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return await scan(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return run


@_collector_paused
async def index_async(
    rpc_url: str,
    *,
    deployments: Deployments | str | Path | dict | HasManifest = "mainnet",
    block: int | None = None,
    protocols: Sequence[str] | None = None,
    progress: Progress | None = None,
    retry: RetryPolicy | None = None,
    max_concurrency: int = 8,
    timeout: float = 30.0,
    log_cache: LogCache | None = None,
    reuse: PositionReuse | None = None,
) -> Snapshot:
    """`index` for callers already in an event loop. `log_cache` shares the logs read with other
    scans of the same history at other blocks (`rpc.LogCache`: a backtest); `reuse` carries the
    positions no event touched from the last block scanned with it (`protocols.reuse`)."""
    deps = load_deployments(deployments)
    indexers = plan(deps, protocols)
    _check_planned(deps, protocols, indexers)
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
        ctx = ScanContext(client, pin, int(header["timestamp"], 16), deps, log_cache=log_cache)
        for name in _left_out(deps, protocols):
            ctx.miss("protocol", None, name, "--protocols", "left out by --protocols: figures that rest on it are not computable")
        await _check_contracts(ctx, deps)
        if progress is not None:
            ctx.progress = progress
        raws = await asyncio.gather(*(ix.fetch(ctx) if reuse is None else reuse.fetch(ix, ctx) for ix in indexers))
        read = [(ix.name, ix.transform(raw, pin.number)) for ix, raw in zip(indexers, raws, strict=True)]
        rows = merge_rows([part for _, part in read])
        tokens = _referenced_tokens(rows)
        extra: list[Rows] = []
        for name in _wanted(protocols, "venue"):
            for dex in registry.spec(name).load("indexer").plan(deps, name, tokens=tokens):
                extra.append(dex.transform(await dex.fetch(ctx), pin.number))
                read.append((name, extra[-1]))
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
        coverage=_coverage(deps, protocols, read),
    )
    return Snapshot.from_rows(meta, rows)


_HELD = ("markets", "positions", "vaults", "pools")  # the rows a protocol read is summed up by


def _coverage(deps: Deployments, protocols: Sequence[str] | None, read: list[tuple[str, Rows]]) -> dict:
    """What the scan read (per protocol, how many rows of `_HELD`), every registered protocol it did
    not read with why, and the debt the deployments record on lenders not on this chain: the
    snapshot's `meta.coverage`, stated by every report (`loopscan.report.coverage`)."""
    held: dict[str, dict[str, int]] = {}
    for name, part in read:
        counts = held.setdefault(name, dict.fromkeys(_HELD, 0))
        for table in _HELD:
            counts[table] += len(part.get(table, []))
    present = {c.protocol for c in deps.contracts}
    left_out = set(_left_out(deps, protocols))
    not_read: dict[str, str] = {}
    for name in registry.names():
        spec = registry.spec(name)
        if name in held:
            continue
        if name in left_out:
            not_read[name] = "left out by --protocols"
        elif not ({name} | {p for p, _ in spec.probes}) & present:
            not_read[name] = "not listed in the deployments for this chain"
        elif not spec.solved:
            not_read[name] = "not solved by the solver: read only when named in --protocols"
        else:
            not_read[name] = "listed, but the deployments gave it nothing to read"
    off = [{"lender": d.lender, "token": d.token, "token_address": d.token_address, "debt_usd": d.debt_usd, "source": d.source}
           for d in deps.off_devnet]  # fmt: skip
    return {"read": {n: held[n] for n in registry.names() if n in held}, "not_read": not_read, "off_devnet": off}


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
    (its JSON file or `Devnet.manifest`), a running `Devnet`, or a `Deployments`; `block`
    defaults to the node's latest; `protocols` narrows the scan (names from
    `loopscan.protocols.registry`). Raises a `LoopscanError` subclass naming what failed. Works
    in a notebook too (inside its event loop).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(index_async(rpc_url, **kwargs))
    # A notebook's kernel runs an event loop in this thread, and asyncio.run needs its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(index_async(rpc_url, **kwargs))).result()


def _check_planned(deps: Deployments, protocols: Sequence[str] | None, indexers: list) -> None:
    """Say, per protocol asked for by name, why it would read nothing: no contracts of its kinds
    in the deployments, or (a venue alone) no tokens to find pools of."""
    planned = {ix.name for ix in indexers}
    if protocols:
        absent = [n for n in protocols if registry.spec(n).role != "venue" and n not in planned]
        if absent:
            kinds = {n: sorted({f"{p} {k}" for p, k in registry.spec(n).probes} or {n}) for n in absent}
            raise IndexError_(f"{deps.source} lists no contracts for " + "; ".join(
                f"{n} (it reads {', '.join(kinds[n])})" for n in absent))  # fmt: skip
        if not indexers:
            raise IndexError_(f"{', '.join(protocols)}: a venue reads the pools of the tokens the lending and vault "
                              "protocols find: name one of them too (e.g. --protocols morpho_blue,uniswap_v3)")  # fmt: skip
    if not indexers:
        raise IndexError_(f"{deps.source} lists no contracts for any of {', '.join(_wanted(None))}")


async def _check_contracts(ctx: ScanContext, deps: Deployments) -> None:
    """Every contract the scan starts from has code and answers as its kind does, at the pin
    (each protocol's spec names a view per kind of contract it reads)."""
    probes = {key: view for s in registry.all_specs().values() for key, view in s.probes.items()}
    contracts = [c for c in deps.contracts if (c.protocol, c.kind) in probes]
    results = await ctx.calls([Call(c.address, encode_call(probes[(c.protocol, c.kind)])) for c in contracts])
    for c, result in zip(contracts, results, strict=True):
        if not result.success or len(result.return_data) < 32:
            raise IndexError_(
                f"{deps.source}: {c.protocol} {c.kind} at {c.address} does not answer "
                f"{probes[(c.protocol, c.kind)]} at block {ctx.block}: not what the deployments say it is"
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
    found.update(m["loan_token"] for m in rows.get("markets", []))
    found.update(c["collateral_token"] for c in rows.get("market_collaterals", []))
    for v in rows.get("vaults", []):
        found.update((v["share_token"], v["asset"]))
    found.discard(ZERO_ADDRESS)
    return found


def _holders(indexers: list) -> dict[str, tuple[str, ...]]:
    """Accounts whose positions back each vault: the vault itself and its strategy accounts."""
    holders: dict[str, tuple[str, ...]] = {}
    for ix in indexers:
        holders.update(getattr(ix, "holders", dict)())
    return holders

"""Which Aave v3 accounts the logs between two blocks changed (`loopscan.protocols.reuse`).

What the snapshot takes from an account is its configuration bitmap (collateral and borrowing
flags), its e-mode category, and per reserve its aToken, variable and stable debt balances.
`balanceOf` grows every block without an event (scaled balance × the reserve's normalised income
or debt), so what is carried is the *scaled* balance (`scaledBalanceOf`), brought to each block
with `Pool.getReserveNormalizedIncome` / `getReserveNormalizedVariableDebt` read at that block:
`AToken.balanceOf` and `VariableDebtToken.balanceOf` are exactly `rayMul(scaled, index)`. That
identity is checked at every block on every balance read (a version whose tokens round otherwise
turns reuse off for its pool, and every account is read at every block). A stable debt balance
compounds per account at its own rate: an account holding any is read at every block.

The raw state changes only through events naming the account:

* the Pool's `Supply`, `Withdraw`, `Borrow`, `Repay`, `MintUnbacked`, `SwapBorrowRateMode`,
  `RebalanceStableBorrowRate`, `ReserveUsedAsCollateralEnabled` / `Disabled` (the user) and
  `LiquidationCall` (the borrower), `UserEModeSet` (the user);
* every aToken's and debt token's `Transfer` (both sides: every mint, burn and transfer emits one,
  the liquidator's aTokens and the treasury's `mintToTreasury` included), `BalanceTransfer`,
  `Mint` and `Burn`.

The Pool's `ReserveDataUpdated`, `IsolationModeTotalDebtUpdated`, `FlashLoan`, `MintedToTreasury`
and `BackUnbacked` and the tokens' `Approval`, `BorrowAllowanceDelegated` and `Initialized` change
no account's raw state; any other log of the Pool or the tokens (a proxy upgrade, a later
version's event) is unknown, and every account is read again. So is every account when the
reserves listed change, or an index cannot be read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.aave_v3.indexer import (
    BORROW,
    COLLATERAL_ENABLED,
    MINT_UNBACKED,
    SUPPLY,
    TRANSFER,
    AaveRaw,
    AaveV3Indexer,
)
from loopscan.protocols.aave_v3.maths import ray_mul
from loopscan.protocols.base import ScanContext, topic_address
from loopscan.protocols.reuse import Previous, event_topic, events_since, touched_by
from loopscan.rpc import Call, decode_answers, encode_calls

__all__ = ["AaveMemory", "scope", "fetch", "fetch_touched"]

Scaled = dict[str, tuple[int, int]]  # asset -> (scaled aToken balance, scaled variable debt)


@dataclass(frozen=True)
class AaveMemory:
    """The accounts a block read whole, in the raw form the next block can carry."""

    tokens: dict[str, tuple[str, ...]]  # asset -> its aToken and debt tokens, whose logs are watched
    accounts: dict[str, tuple[int, int, Scaled]]  # account -> (configuration, e-mode, scaled balances)


# Where the account sits among each event's topics.
_POOL_EVENTS = {
    SUPPLY: (2,), BORROW: (2,), MINT_UNBACKED: (2,), COLLATERAL_ENABLED: (2,),
    event_topic("Withdraw(address,address,address,uint256)"): (2,),
    event_topic("Repay(address,address,address,uint256,bool)"): (2,),
    event_topic("SwapBorrowRateMode(address,address,uint8)"): (2,),
    event_topic("RebalanceStableBorrowRate(address,address)"): (2,),
    event_topic("ReserveUsedAsCollateralDisabled(address,address)"): (2,),
    event_topic("LiquidationCall(address,address,address,uint256,uint256,address,bool)"): (3,),
    event_topic("UserEModeSet(address,uint8)"): (1,),
    **dict.fromkeys(map(event_topic, (
        "ReserveDataUpdated(address,uint256,uint256,uint256,uint256,uint256)",
        "IsolationModeTotalDebtUpdated(address,uint256)", "FlashLoan(address,address,address,uint256,uint8,uint256,uint16)",
        "MintedToTreasury(address,uint256)", "BackUnbacked(address,address,uint256,uint256)")), ()),
}  # fmt: skip
_TOKEN_EVENTS = {
    TRANSFER: (1, 2),
    event_topic("BalanceTransfer(address,address,uint256,uint256)"): (1, 2),
    event_topic("Mint(address,address,uint256,uint256,uint256)"): (1, 2),  # aToken, variable debt
    event_topic("Burn(address,address,uint256,uint256,uint256)"): (1, 2),
    event_topic("Mint(address,address,uint256,uint256,uint256,uint256,uint256,uint256)"): (1, 2),  # stable debt
    event_topic("Burn(address,uint256,uint256,uint256,uint256,uint256)"): (1,),
    **dict.fromkeys(map(event_topic, (
        "Approval(address,address,uint256)", "BorrowAllowanceDelegated(address,address,address,uint256)",
        "Initialized(address,address,address,address,uint8,string,string,bytes)",
        "Initialized(address,address,address,uint8,string,string,bytes)")), ()),
}  # fmt: skip


def scope(indexer: AaveV3Indexer) -> str:
    return indexer.pool


async def fetch(indexer: AaveV3Indexer, ctx: ScanContext, previous: Previous | None) -> tuple[AaveRaw, AaveMemory | None]:
    """The indexer's reads at the pin, accounts no event touched since `previous` carried from it
    (balances brought to the pin with the reserves' indexes), and what the next block may carry."""
    memory: AaveMemory | None = previous.memory if previous is not None else None
    skip: dict[str, int] = {}
    if memory is not None and (touched := await fetch_touched(indexer, ctx, memory, previous.block)) is not None:
        skip = {account: emode for account, (_, emode, _) in memory.accounts.items() if account not in touched}
    # Read into a context of its own, so that a whole read instead (below) records no miss twice.
    trial = replace(ctx, missing=[])
    raw = await indexer.fetch(trial, skip=skip)
    incomes, debts, scaled = await _fetch_scaled(trial, raw, list(raw.balances))  # the accounts read: none carried yet
    tokens = {a: _tokens(r) for a, r in raw.reserves.items()}
    carried = {account: memory.accounts[account] for account in skip} if skip else {}
    if carried and (tokens != memory.tokens or not all(a in incomes and a in debts for _, _, s in carried.values() for a in s)):
        return await fetch(indexer, ctx, None)  # the reserves changed, or an index is unread: read it whole
    ctx.missing += trial.missing
    for account, (config, emode, balances) in carried.items():
        raw.user_configs[account], raw.user_emodes[account] = config, emode
        for a, (supplied, variable) in balances.items():
            raw.balances[account, a] = (ray_mul(supplied, incomes[a]), ray_mul(variable, debts[a]), 0)
    return raw, _remember(raw, trial.missing, tokens, incomes, debts, scaled, carried)


async def fetch_touched(indexer: AaveV3Indexer, ctx: ScanContext, memory: AaveMemory, since: int) -> set[str] | None:
    """The accounts the Pool's and its tokens' logs after block `since` up to the pin changed; None
    if a log says something this module cannot map (module docstring)."""
    tokens = sorted({t for ts in memory.tokens.values() for t in ts})
    pool_logs, token_logs = await asyncio.gather(events_since(ctx, indexer.pool, since), events_since(ctx, tokens, since))
    pool, held = touched_by(pool_logs, _accounts(_POOL_EVENTS)), touched_by(token_logs, _accounts(_TOKEN_EVENTS))
    return None if pool is None or held is None else (pool | held) - {ZERO_ADDRESS}


def _accounts(events: dict[str, tuple[int, ...]]) -> dict:
    def at(topics: tuple[int, ...]):
        return lambda log: [topic_address(log["topics"][i]) for i in topics]

    return {topic: at(topics) for topic, topics in events.items()}


def _tokens(r) -> tuple[str, ...]:
    return (r.a_token, r.variable_debt_token, *([r.stable_debt_token] if r.stable_debt_token else []))


async def _fetch_scaled(ctx: ScanContext, raw: AaveRaw, pairs: Sequence[tuple[str, str]]) -> tuple[dict, dict, dict]:
    """Every reserve's normalised income and variable debt at the pin, and each pair's scaled
    aToken and variable debt balances, in one Multicall3 round: what is kept to carry, never a
    `missing` row (a failed one only means that account is read again next block)."""
    assets = list(raw.reserves)
    reads = [
        ([raw.pool] * len(assets), "getReserveNormalizedIncome(address)", [(a,) for a in assets]),
        ([raw.pool] * len(assets), "getReserveNormalizedVariableDebt(address)", [(a,) for a in assets]),
        ([t for _, a in pairs for t in (raw.reserves[a].a_token, raw.reserves[a].variable_debt_token)],
         "scaledBalanceOf(address)", [(u,) for u, _ in pairs for _ in range(2)]),
    ]  # fmt: skip
    calls = [Call(t, d) for targets, method, rows in reads for t, d in zip(targets, encode_calls(method, rows), strict=True)]
    results = await ctx.calls(calls)
    values, at = [], 0
    for targets, method, _ in reads:
        values.append(decode_answers(results[at : at + len(targets)], targets, method, "uint256")[0])
        at += len(targets)
    incomes, debts, balances = values
    scaled = {pair: (balances[2 * i], balances[2 * i + 1]) for i, pair in enumerate(pairs)}
    return (
        {a: x for a, x in zip(assets, incomes, strict=True) if x is not None},
        {a: x for a, x in zip(assets, debts, strict=True) if x is not None},
        {pair: s for pair, s in scaled.items() if None not in s},
    )


def _remember(raw: AaveRaw, missing: list[dict], tokens: dict, incomes: dict, debts: dict, scaled: dict,
              carried: dict) -> AaveMemory | None:  # fmt: skip
    """The accounts read whole at this block (no miss, no stable debt, every scaled balance read),
    with those carried; None if a balance read is not its scaled balance times the index."""
    failed = {row["key"].rsplit(":", 1)[-1] for row in missing if row["kind"] in ("account", "position") and row["key"]}
    by_account: dict[str, Scaled] = {}
    whole = set(raw.user_configs) & set(raw.user_emodes) - failed - set(carried)
    for (account, a), (supplied, variable, stable) in raw.balances.items():
        if account not in whole:
            continue
        s = scaled.get((account, a))
        if stable or s is None or a not in incomes or a not in debts:
            whole.discard(account)
            continue
        if (ray_mul(s[0], incomes[a]), ray_mul(s[1], debts[a])) != (supplied, variable):
            return None  # these tokens' balanceOf is not scaled × index: carry nothing
        by_account.setdefault(account, {})[a] = s
    kept = {u: (raw.user_configs[u], raw.user_emodes[u], by_account.get(u, {})) for u in whole}
    return AaveMemory(tokens, {**kept, **carried})

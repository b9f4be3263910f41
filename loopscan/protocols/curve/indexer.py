"""Curve stableswap pools at the pin: listed by address (deployments kind `pool`) or found through
the registries and factories the deployments list (kinds `registry`, `factory`: both answer
`pool_count()` and `pool_list(uint256)`, as CurveStableSwapFactoryNG.vy does in stableswap-ng
2abe778 and the classic registries do).

Per pool, in one multicall round (getters as published in stableswap-ng 2abe778
`contracts/main/CurveStableSwapNG.vy` / `CurveStableSwapMetaNG.vy` and curve-contract 574f440
`contracts/pool-templates/base/SwapTemplateBase.vy`): `coins(i)` and `balances(i)` for i < 8,
`N_COINS()`, `A()`, `A_precise()`, `initial_A()`, `initial_A_time()`, `future_A()`,
`future_A_time()`, `fee()`, `admin_fee()`, `offpeg_fee_multiplier()`, `stored_rates()`, `get_balances()`.

- Kind: `ng` when the pool answers both `offpeg_fee_multiplier()` and `stored_rates()`; `classic`
  when it answers no multiplier; `other` (aave-style lending pools: a dynamic fee, rates from the
  coins) when only the multiplier answers. Rates: `stored_rates()` wherever it answers (NG pools,
  and the classic factory pools with rate oracles, which return a fixed-size `uint256[N]`); a
  classic pool without it uses the template's constant rates from its coins' decimals. The coins: `N_COINS()` of them for NG pools, which must all
  answer; for the others the coins up to the first `coins(i)` that reverts (the template's
  fixed-size array ends there), at least two. Pools whose getters take `int128` (the 2020 lending
  pools) answer no `coins(uint256)` and are reported missing, not read.
- A: the ramp as the pool's `_A()` computes it at the pin's timestamp (`maths.amp_at`), in A · 100
  units (the stored values are A · 100 where the pool has `A_precise()`, plain A in older pools),
  and checked against what the pool itself answers (`A_precise()`, else `A()`).
- Balances: `get_balances()` for NG pools (admin fees excluded), `balances(i)` for the others.

A pool with any of these reads failed is left out whole, with a `missing` row per failed read: a
pool without its balances, A or fee would be priced wrong, not approximately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import decode as abi_decode

from loopscan.chains import Deployments
from loopscan.protocols.base import Rows, ScanContext, read
from loopscan.protocols.curve.maths import A_PRECISION, FEE_DENOMINATOR, CurveError, amp_at
from loopscan.rpc import CallResult, decode_address, decode_uint, failure_reason

__all__ = ["MAX_COINS", "CurvePoolRaw", "CurveRaw", "CurveIndexer"]

MAX_COINS = 8  # stableswap-ng MAX_COINS; the classic templates hold 2 to 4
_GETTERS = (
    "N_COINS()", "A()", "A_precise()", "initial_A()", "initial_A_time()", "future_A()", "future_A_time()",
    "fee()", "admin_fee()", "offpeg_fee_multiplier()", "stored_rates()", "get_balances()",
)  # fmt: skip
_RAMP = ("initial_A()", "initial_A_time()", "future_A()", "future_A_time()")


@dataclass(frozen=True)
class CurvePoolRaw:
    """One pool as read and checked; amounts as the pool answers them."""

    address: str
    kind: str  # ng, classic or other
    coins: tuple[str, ...]
    balances: tuple[int, ...]
    a: int  # A() as returned
    amp_precise: int  # A · 100 at the pin
    future_amp: int  # A · 100 at the end of the ramp
    future_amp_time: int
    fee: int
    admin_fee: int  # share of the fee kept for the admin, 1e10 scale
    offpeg_fee_multiplier: int | None
    rates: tuple[int, ...] | None  # stored_rates(), NG only


@dataclass
class CurveRaw:
    """What `fetch` read: the pools that could be read whole, and the pin's timestamp they use."""

    timestamp: int
    pools: dict[str, CurvePoolRaw]


def plan(deployments: Deployments, name: str, tokens: set[str] = frozenset()) -> list[CurveIndexer]:
    """The pools and the registries or factories the deployments list (all their pools: Curve's
    are few and stable, so they are not narrowed to `tokens`)."""
    indexer = CurveIndexer.from_deployments(deployments)
    return [indexer] if indexer.pools or indexer.lists else []


class CurveIndexer:
    """Curve stableswap pools given by address and listed by registries or factories."""

    name = "curve"

    def __init__(self, pools: Sequence[str] = (), lists: Sequence[str] = ()) -> None:
        self.pools = tuple(dict.fromkeys(p.lower() for p in pools))
        self.lists = tuple(dict.fromkeys(a.lower() for a in lists))

    @classmethod
    def from_deployments(cls, deployments: Deployments) -> CurveIndexer:
        lists = [c.address for kind in ("registry", "factory") for c in deployments.find("curve", kind)]
        return cls([c.address for c in deployments.find("curve", "pool")], lists)

    async def fetch(self, ctx: ScanContext) -> CurveRaw:
        addresses = list(dict.fromkeys(self.pools + tuple(await self._listed(ctx))))
        ctx.progress("curve: pools", len(addresses))
        reads = {(pool, sig): read("pool", pool, sig) for pool in addresses for sig in _GETTERS}
        reads |= {(pool, getter, i): read("pool", pool, f"{getter}(uint256)", i, key=str(i))
                  for pool in addresses for getter in ("coins", "balances") for i in range(MAX_COINS)}  # fmt: skip
        got = await ctx.read_round(reads)
        raw = CurveRaw(ctx.timestamp, {})
        for pool in addresses:
            results = [got.result((pool, sig)) for sig in _GETTERS]
            results += [got.result((pool, getter, i)) for getter in ("coins", "balances") for i in range(MAX_COINS)]
            if (found := _read_pool(ctx, pool, results)) is not None:
                raw.pools[pool] = found
        return raw

    async def _listed(self, ctx: ScanContext) -> list[str]:
        """Every pool the registries and factories list, in their order."""
        if not self.lists:
            return []
        # Curve's answers are judged by this module's own checks (a pool is read whole or left out,
        # each reason recorded); the rounds only key them.
        counts = await ctx.read_round({a: read("pool_list", a, "pool_count()") for a in self.lists})
        wanted: list[tuple[str, int]] = []
        for address in self.lists:
            if _ok(result := counts.result(address)):
                wanted += [(address, i) for i in range(decode_uint(result.return_data))]
            else:
                ctx.miss("pool_list", address, None, "pool_count()", failure_reason(result))
        answers = await ctx.read_round({(a, i): read("pool_list", a, "pool_list(uint256)", i) for a, i in wanted})
        found = []
        for address, i in wanted:
            if not _ok(result := answers.result((address, i))):
                ctx.miss("pool_list", address, str(i), "pool_list(uint256)", failure_reason(result))
                continue
            try:
                found.append(decode_address(result.return_data))
            except ValueError as exc:
                ctx.miss("pool_list", address, str(i), "pool_list(uint256)", f"not an address: {exc}")
        return found

    def transform(self, raw: CurveRaw, block: int) -> Rows:
        pools, coins = [], []
        for address, p in raw.pools.items():
            pools.append({
                "block": block, "venue": self.name, "pool": address, "token0": p.coins[0], "token1": p.coins[1],
                "fee_raw": p.fee, "fee_scale": FEE_DENOMINATOR, "admin_fee": p.admin_fee, "amp": p.a, "n_coins": len(p.coins),
                "pool_kind": p.kind, "amp_precise": p.amp_precise, "future_amp": p.future_amp,
                "future_amp_time": p.future_amp_time, "offpeg_fee_multiplier": p.offpeg_fee_multiplier,
            })  # fmt: skip
            for index, (token, balance) in enumerate(zip(p.coins, p.balances, strict=True)):
                rate = None if p.rates is None else p.rates[index]
                coins.append({"block": block, "pool": address, "coin_index": index, "token": token, "balance": balance,
                              "rate": rate})  # fmt: skip
        return {"pools": pools, "pool_coins": coins}


def _read_pool(ctx: ScanContext, pool: str, results: list[CallResult]) -> CurvePoolRaw | None:
    """One pool's answers checked and decoded; None (with `missing` rows) if it cannot be priced."""
    got = dict(zip(_GETTERS, results[: len(_GETTERS)], strict=True))
    coin_results = results[len(_GETTERS) : len(_GETTERS) + MAX_COINS]
    balance_results = results[len(_GETTERS) + MAX_COINS :]
    failed: list[tuple[str, str | None, str | None]] = []  # (method, key, reason)

    def word(sig: str) -> int | None:
        if _ok(got[sig]):
            return decode_uint(got[sig].return_data)
        failed.append((sig, None, failure_reason(got[sig])))
        return None

    has_multiplier, has_rates = _ok(got["offpeg_fee_multiplier()"]), _ok(got["stored_rates()"])
    kind = "ng" if has_multiplier and has_rates else "classic" if not has_multiplier else "other"
    coins = _coins(kind, got["N_COINS()"], coin_results, failed)
    a, fee, admin_fee = word("A()"), word("fee()"), word("admin_fee()")
    for sig, value in (("fee()", fee), ("admin_fee()", admin_fee)):  # the templates cap both far lower
        if value is not None and value > FEE_DENOMINATOR:
            failed.append((sig, None, f"answered {value}, above 100 %"))
    ramp = [word(sig) for sig in _RAMP]
    offpeg = word("offpeg_fee_multiplier()") if kind != "classic" else None
    rates = balances = None
    if coins is not None and has_rates:
        rates = _array(got["stored_rates()"], len(coins), "stored_rates()", failed)
    if coins is not None and kind == "ng":
        balances = _array(got["get_balances()"], len(coins), "get_balances()", failed)
    elif coins is not None:
        balances = _words(balance_results[: len(coins)], "balances(uint256)", failed)
    amp = _amp(ramp, a, got["A_precise()"], ctx.timestamp, failed) if a is not None and None not in ramp else None
    if failed:
        for method, key, reason in failed:
            ctx.miss("pool", pool, key, method, reason)
        return None
    # every read above either answered or is in `failed`
    assert coins and balances and None not in (a, fee, admin_fee, amp) and None not in ramp
    precision = A_PRECISION if _ok(got["A_precise()"]) else 1
    future_amp, future_time = ramp[2] * (A_PRECISION // precision), ramp[3]
    return CurvePoolRaw(pool, kind, coins, balances, a, amp, future_amp, future_time, fee, admin_fee, offpeg, rates)


def _coins(kind: str, n_answer: CallResult, results: list[CallResult], failed: list) -> tuple[str, ...] | None:
    if kind == "ng":
        if not _ok(n_answer):
            failed.append(("N_COINS()", None, failure_reason(n_answer)))
            return None
        n = decode_uint(n_answer.return_data)
        if not 2 <= n <= MAX_COINS:
            failed.append(("N_COINS()", None, f"answered {n}, not 2..{MAX_COINS}"))
            return None
    else:
        n = next((i for i, r in enumerate(results) if not _ok(r)), MAX_COINS)
        if n < 2:
            why = failure_reason(results[n])
            failed.append(("coins(uint256)", str(n), f"{why} (pools with coins(int128) are not read)"))
            return None
    out = []
    for i, result in enumerate(results[:n]):
        if not _ok(result):
            failed.append(("coins(uint256)", str(i), failure_reason(result)))
            return None
        try:
            out.append(decode_address(result.return_data))
        except ValueError as exc:
            failed.append(("coins(uint256)", str(i), f"not an address: {exc}"))
            return None
    return tuple(out)


def _array(result: CallResult, n: int, method: str, failed: list) -> tuple[int, ...] | None:
    """`n` uint256 values answered as a `DynArray[uint256, MAX_COINS]` (stableswap-ng) or as a
    fixed-size `uint256[N_COINS]` (the classic factory pools): told apart by the answer's length."""
    if not result.success:
        failed.append((method, None, failure_reason(result)))
        return None
    data = result.return_data
    if len(data) == 32 * n:
        return tuple(decode_uint(data, i) for i in range(n))
    try:
        (values,) = abi_decode(["uint256[]"], data)
    except Exception:  # eth_abi raises several decoding errors; all mean a malformed answer
        failed.append((method, None, f"answered {len(data)} bytes, neither uint256[{n}] nor uint256[]"))
        return None
    if len(values) != n:
        failed.append((method, None, f"answered {len(values)} items for {n} coins"))
        return None
    return tuple(values)


def _words(results: list[CallResult], method: str, failed: list) -> tuple[int, ...] | None:
    values = []
    for i, result in enumerate(results):
        if not _ok(result):
            failed.append((method, str(i), failure_reason(result)))
            return None
        values.append(decode_uint(result.return_data))
    return tuple(values)


def _amp(ramp: list, a: int, precise: CallResult, timestamp: int, failed: list) -> int | None:
    """A · 100 at the pin from the ramp, checked against the pool's own `A_precise()` or `A()`."""
    initial, initial_time, future, future_time = ramp
    precision = A_PRECISION if _ok(precise) else 1  # stored as A · 100 only where A_precise() exists
    try:
        stored = amp_at(initial, initial_time, future, future_time, timestamp)
    except CurveError as exc:
        failed.append(("initial_A_time()", None, str(exc)))
        return None
    answered, computed = (decode_uint(precise.return_data), stored) if precision > 1 else (a, stored)
    if answered != computed or a != stored // precision:
        failed.append(("A_precise()" if precision > 1 else "A()", None,
                       f"answered {answered}, the ramp gives {computed} at timestamp {timestamp}"))  # fmt: skip
        return None
    return stored * (A_PRECISION // precision)


def _ok(result: CallResult) -> bool:
    return result.success and len(result.return_data) >= 32

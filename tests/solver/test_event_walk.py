"""Truth through a crisis: `stream-2025` walked through its events in order (seeded,
`xusd-market-down-5`, `writedown`, then xUSD sold into its Uniswap v3 pool as Stream's holders
did), and `susde-aave-loop` before and after the USDT feed moves past its first looper. In every
state the chain is indexed at the latest block and analysed, and the devnet's own contracts say
whether the solver is right (each check between a snapshot and a revert):

(a) liquidatable now: exactly the positions the solver lists are liquidatable on chain (the
    protocol's `liquidate` of a sliver succeeds); every other open position reverts as healthy;
(b) δ₁ brackets its position: the feed the token's market oracle reads, moved from its answer in
    that state to (1 − (δ − 1 bp)) leaves the position safe, to (1 − (δ + 1 bp)) liquidates it —
    for every position of `first_liquidation_by_position`, δ₁ being the least. Where δ₁ is NaN,
    why: every position the token reaches is liquidatable in the baseline (on chain: now, or
    once the feed reads the price the baseline starts from) or no move of that feed ever
    liquidates it (on chain: still healthy with the feed at 1 % of its answer);
(c) bad debt now is what Morpho realises: a position liquidatable now, all its collateral
    seized, leaves `badDebtAssets` (the Liquidate event) equal to `bad_debt_now_usd` / the loan's
    price, once the interest of the blocks between the read and the liquidation is added. A
    Morpho position not liquidatable now: its hidden bad debt is its debt above its collateral
    at market, from plain reads (feeds, oracles, vault rates). An Aave account: its collateral,
    debt, health and bad debt are the Pool's `getUserAccountData`.

The event-walk table is written to test-artifacts/event-walk.md and printed (`-s`).
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import pytest
from chain_moves import (
    HEALTHY,
    credit_account_position,
    feed_answer,
    liquidate,
    liquidate_all,
    morpho_position,
    open_positions,
    scale_feed,
)
from devnet_helpers import aave_pool, contract, erc20, published

from loopscan.chains import from_devnet_manifest
from loopscan.devnet.chain import TxReverted
from loopscan.protocols.uniswap_v3.maths import MAX_SQRT_RATIO, MIN_SQRT_RATIO
from loopscan.result import ScanResult, analyse
from loopscan.scanner import index_async
from loopscan.solver import BP
from loopscan.solver.now import under
from loopscan.solver.pricing import Pricer
from loopscan.solver.shock import Shock
from loopscan.solver.state import initial_state

pytestmark = pytest.mark.devnet

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "event-walk.md"
# Each token whose market depeg moves a feed on chain: the feed its market oracle reads.
STREAM_FEEDS = {"xUSD": "xUSD/USD", "sdeUSD": "deUSD/USD"}
SUSDE_FEEDS = {"USDT": "USDT/USD"}
XUSD_SALE = 10_000_000  # xUSD offered into the xUSD/USDC pool (≈ $12M at 1.2065, $8M at book)
# Morpho's Liquidate maths rounds each step to the unit (seized → repaid assets up, shares up,
# assets of the shares up); the solver does the same sums in float64 (relative 1e-16 on $68M is
# 0.01 units). Ten units of the loan token (10 µUSDC) bounds both with room.
BAD_DEBT_UNITS = 10
# Plain reads of a Morpho position leave out the interest since its market's last update, which
# the indexer accrues to the block: minutes at ≤ 16 %/yr (4 × the IRM's starting rate at target)
# are below 1e-6 of the debt.
UNACCRUED = 1e-6


def sell_xusd(net) -> tuple[int, int]:
    """The scenario's `xusd-sold` event: Stream's depositors dump xUSD into its pool at any price.
    Returns (sold, received), from the balances; the pool takes what its USDC side holds and
    stops at its lowest price."""
    tokens = net.manifest["tokens"]
    who = net.chain.account("xusd-depositors")
    xusd, usdc = erc20(net, tokens["xUSD"]["address"]), erc20(net, tokens["USDC"]["address"])
    before = xusd.functions.balanceOf(who).call(), usdc.functions.balanceOf(who).call()
    net.apply("xusd-sold")
    return before[0] - xusd.functions.balanceOf(who).call(), usdc.functions.balanceOf(who).call() - before[1]


def _analyse_latest(net) -> ScanResult:
    return analyse(asyncio.run(index_async(net.url, deployments=from_devnet_manifest(net.manifest))))


class Walk:
    """One devnet's states, each checked on chain; the rows of the event-walk table."""

    def __init__(self, net, feeds: dict[str, str], rows: list[str]) -> None:
        self.net, self.feeds, self.rows = net, feeds, rows
        self.names = {a.lower(): n for n, a in net.manifest["accounts"].items()}
        self.names.update({v["address"].lower(): n for n, v in net.manifest.get("metamorpho_vaults", {}).items()})

    def name(self, account: str) -> str:
        return self.names.get(account, account[:10])

    def _isolated(self, fn):
        snapshot = self.net.snapshot()
        try:
            return fn()
        finally:
            self.net.revert(snapshot)

    def liquidates(self, key: str, account: str, feed: str | None = None, factor: float = 1.0) -> bool:
        """Whether the protocol liquidates (a sliver of) the position, with `feed` moved to `factor`
        × its answer first; the chain is left as it was. A revert must say the position is healthy."""

        def attempt() -> bool:
            if feed is not None:
                scale_feed(self.net, feed, factor)
            try:
                liquidate(self.net, key, account)
            except TxReverted as exc:
                assert re.search(HEALTHY, exc.reason), f"{self.name(account)}: {exc.reason}"
                return False
            return True

        return self._isolated(attempt)

    def check(self, state: str) -> ScanResult:
        result = _analyse_latest(self.net)
        now = result.now
        # (a) the open positions are the chain's, and liquidatable now exactly where liquidate succeeds
        assert set(zip(now["position"], now["account"], strict=True)) == open_positions(self.net)
        for row in now.itertuples():
            assert self.liquidates(row.position, row.account) == row.liquidatable_now, (
                f"{state}: {self.name(row.account)} liquidatable_now={row.liquidatable_now}"
            )
        self._aave_accounts(state, result)
        on_chain = self._bad_debt_realised(state, result) | self._bad_debt_hidden(state, result)
        for symbol, feed in self.feeds.items():
            self.rows.append(self._bracket(state, result, symbol, feed, on_chain))
        return result

    def _bad_debt_realised(self, state: str, result: ScanResult) -> dict[str, str]:
        """(c) Every Morpho position liquidatable now, closed: Morpho's write-off against the
        solver's. Returns by account what Morpho wrote off and how far the solver's figure was
        (units of the loan token, interest since the block read added)."""
        book, now, realised = result.solver.book, result.now, {}
        # Gearbox's feeds are the scenario's own, moved by no event here: no credit account is liquidatable now.
        assert not now.loc[now["protocol"] == "gearbox", "liquidatable_now"].any(), f"{state}: a Gearbox account to check"
        for row in now[now["liquidatable_now"] & (now["protocol"] == "morpho_blue")].itertuples():
            who = self.name(row.account)
            if row.bad_debt_now_usd == 0.0:  # then its collateral repays more than its debt: seizing it all reverts
                with pytest.raises(TxReverted):
                    self._isolated(lambda r=row: liquidate_all(self.net, r.position, r.account))
                continue
            event, collateral = self._isolated(lambda r=row: liquidate_all(self.net, r.position, r.account))
            assert event.seizedAssets == collateral
            scale, price = 10 ** book.decimals[row.loan], book.p0[row.loan]
            indexed_debt = row.debt_usd / price * scale
            interest = event.repaidAssets + event.badDebtAssets - indexed_debt  # accrued since the block read
            assert -1 <= interest < indexed_debt * 1e-6, f"{state}: {who} interest {interest}"
            predicted = row.bad_debt_now_usd / price * scale + interest
            assert event.badDebtAssets == pytest.approx(predicted, abs=BAD_DEBT_UNITS), (
                f"{state}: {who} badDebtAssets {event.badDebtAssets} vs the solver's {predicted:.1f}"
            )
            off = predicted - event.badDebtAssets
            realised[row.account] = (
                f"{who} ${event.badDebtAssets / scale * price / 1e6:,.4f}M written off (solver {off:+.1f} units)"
            )
        return realised

    def _usd(self, symbol: str) -> float:
        """A token's price at the pin from chain reads, as `now` takes it: its own USD feed, or its
        market-priced Morpho oracle's answer; a vault share at most its book value."""
        manifest, tokens = self.net.manifest, self.net.manifest["tokens"]
        spec, feed = tokens[symbol], f"{symbol}/USD"
        if feed in manifest["feeds"]:
            price = feed_answer(self.net, feed) / 10 ** manifest["feeds"][feed]["decimals"]
        else:
            markets = manifest["morpho_markets"].values()
            (m,) = [m for m in markets if m["collateral_token"] == symbol and m["oracle_kind"] == "market"]
            answer = contract(self.net, m["oracle"], "loopscan", "MorphoFeedOracle").functions.price().call()
            scale = 10 ** (spec["decimals"] - tokens[m["loan_token"]]["decimals"] - 36)
            price = answer * scale * self._usd(m["loan_token"])
        if not spec["kind"].endswith("vault"):
            return price
        vault = contract(self.net, spec["address"], "loopscan", "YieldVault")
        rate = (
            vault.functions.convertToAssets(10 ** spec["decimals"]).call()
            / 10 ** tokens[spec["underlying"]]["decimals"]
        )
        return min(price, rate * self._usd(spec["underlying"]))

    def _bad_debt_hidden(self, state: str, result: ScanResult) -> dict[str, str]:
        """Bad debt now of every Morpho position and Gearbox credit account not liquidatable now: its
        debt above its collateral at market (a credit account: what the pool is owed, fees aside,
        above every token it holds), from chain reads (`morpho_position`, `credit_account_position`,
        `_usd`). Returns by account the figure read, where there is one."""
        now, symbol = result.now, {t["address"].lower(): s for s, t in self.net.manifest["tokens"].items()}
        tokens = self.net.manifest["tokens"]
        hidden = {}
        for row in now[~now["liquidatable_now"] & now["position"].str.contains(":")].itertuples():
            loan = symbol[row.loan]
            if row.protocol == "gearbox":
                debt, balances = credit_account_position(self.net, row.account)
                held = sum(amount / 10 ** tokens[symbol[t]]["decimals"] * self._usd(symbol[t]) for t, amount in balances.items() if amount)
            else:
                col = symbol[row.collateral]
                debt, collateral = morpho_position(self.net, row.position, row.account)
                held = collateral / 10 ** tokens[col]["decimals"] * self._usd(col)
            owed = debt / 10 ** tokens[loan]["decimals"] * self._usd(loan)
            assert row.bad_debt_now_usd == pytest.approx(max(owed - held, 0.0), abs=owed * UNACCRUED), (
                f"{state}: {self.name(row.account)} bad debt now {row.bad_debt_now_usd} vs {owed - held} on chain"
            )
            if owed > held:
                hidden[row.account] = f"{self.name(row.account)} ${(owed - held) / 1e6:,.4f}M hidden (chain reads)"
        return hidden

    def _aave_accounts(self, state: str, result: ScanResult) -> None:
        """Every Aave account's health, debt, collateral and bad debt now against the Pool's own
        `getUserAccountData` (base currency: USD, 8 decimals; the health factor in WAD). Both
        sides price with the same oracles, so only rounding separates them."""
        for row in result.now[~result.now["position"].str.contains(":")].itertuples():
            data = (
                aave_pool(self.net)
                .functions.getUserAccountData(self.net.chain.w3.to_checksum_address(row.account))
                .call()
            )
            collateral, debt, health = data[0] / 1e8, data[1] / 1e8, data[5] / 1e18
            got = (row.collateral_usd, row.debt_usd, row.health, row.bad_debt_now_usd)
            assert got == pytest.approx((collateral, debt, health, max(debt - collateral, 0.0)), rel=1e-9), (
                f"{state}: {self.name(row.account)} (collateral, debt, health, bad debt) {got} vs the Pool's"
            )

    def _bracket(self, state: str, result: ScanResult, symbol: str, feed: str, on_chain: dict[str, str]) -> str:
        """(b) δ₁ of `symbol`'s depeg on chain; the table row of this state and token."""
        solver, token = result.solver, result.snapshot.token_address(symbol)
        row = result.thresholds[(result.thresholds["token"] == token) & (result.thresholds["shock"] == "depeg")].iloc[0]
        first, by_position = row.first_liquidation_frac, solver.first_liquidation_by_position("depeg", token)
        notes = []
        if by_position:
            assert first == pytest.approx(min(by_position.values()))
            for (key, account), delta in sorted(by_position.items(), key=lambda kv: kv[1]):
                safe = not self.liquidates(key, account, feed, 1 - delta + BP)
                taken = self.liquidates(key, account, feed, 1 - delta - BP)
                assert safe and taken, (
                    f"{state} {symbol}: {self.name(account)} at δ={delta}: safe={safe} liquidated={taken}"
                )
                notes.append(f"{self.name(account)} {delta:.2%}: safe at −1 bp, liquidated at +1 bp")
        else:
            assert math.isnan(first)
            notes.append(self._why_none(state, result, symbol, feed))
        reached = result.now[under(solver.book, result.now, token, solver.resting)]
        now_names = ", ".join(self.name(a) for a in reached.loc[reached["liquidatable_now"], "account"]) or "none"
        read = "; ".join(on_chain[a] for a in reached["account"] if a in on_chain) or "—"
        return (
            f"| {state} | {symbol} | {_pct(first)} | {_pct(row.bad_debt_frac)} | {row.liquidatable_now} ({now_names}) "
            f"| ${row.bad_debt_now_usd / 1e6:,.4f}M | {read} | {'; '.join(notes)} |"
        )

    def _why_none(self, state: str, result: ScanResult, symbol: str, feed: str) -> str:
        """δ₁ is NaN: each position the token reaches is in the baseline's first round (liquidatable
        now, or once the feed reads the price the baseline starts from), or no move of the feed
        liquidates it. Checked on chain; returns what was found."""
        solver, token = result.solver, result.snapshot.token_address(symbol)
        book, now = solver.book, result.now
        baseline = set(solver.baseline().at_risk)
        # The price the baseline's first round starts from (no shock): a vault share at most its book.
        start = Pricer(book, initial_state(book), Shock("depeg", "", 0.0), 0).market(token) / book.p0[token]
        found = []
        for row in now[under(book, now, token, solver.resting)].itertuples():
            who = self.name(row.account)
            if row.liquidatable_now:
                assert (row.position, row.account) in baseline, (
                    f"{state}: {who} liquidatable now but not in the baseline"
                )
                found.append(f"{who} liquidatable now")
            elif (row.position, row.account) in baseline:
                assert start < 1.0, f"{state}: {who} in the baseline at the pin's own prices"
                assert self.liquidates(row.position, row.account, feed, start), (
                    f"{state}: {who} in the baseline but healthy on chain with {feed} × {start:.6f}"
                )
                found.append(f"{who} liquidated with {feed} × {start:.4f} (the baseline's start)")
            else:
                for factor in (0.5, 0.01):
                    assert not self.liquidates(row.position, row.account, feed, factor), (
                        f"{state}: {who} liquidated with {feed} × {factor}, yet the solver finds no δ₁ for {symbol}"
                    )
                found.append(f"{who} healthy with {feed} × 0.5 and × 0.01")
        return "NaN: " + ", ".join(found)


def _pct(x: float) -> str:
    return "NaN" if x is None or math.isnan(x) else f"{x:.2%}"


@pytest.fixture(scope="module")
def table():
    rows: list[str] = []
    yield rows
    head = ("| state | token | δ₁ | δ_bd | liquidatable now | bad debt now | bad debt now on chain (Morpho) | on-chain bracket |\n"
            "|---|---|---|---|---|---|---|---|")  # fmt: skip
    text = "# Event walk: the solver against the devnet's contracts\n\n" + head + "\n" + "\n".join(rows) + "\n"
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(text)
    print("\n" + text)


def test_stream_event_walk(stream, table):
    walk = Walk(stream, STREAM_FEEDS, table)
    seeded = walk.check("seeded")
    assert seeded.now["liquidatable_now"].sum() == 0
    stream.apply("xusd-market-down-5")
    walk.check("xusd-market-down-5")
    stream.apply("writedown")
    written = walk.check("writedown")
    sold, received = sell_xusd(stream)
    pool = published(
        stream,
        stream.manifest["uniswap_pools"]["xUSD/USDC"]["address"],
        "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool",
    )
    token0_is_xusd = pool.functions.token0().call() == stream.manifest["tokens"]["xUSD"]["address"]
    assert 0 < sold < XUSD_SALE * 10**6 and received > 0
    # Drained: the pool stopped at the swap's price limit, xUSD at its lowest price.
    assert pool.functions.slot0().call()[0] == (MIN_SQRT_RATIO + 1 if token0_is_xusd else MAX_SQRT_RATIO - 1)
    after = walk.check(f"xusd-sale ({sold / 1e6:,.0f} xUSD taken of {XUSD_SALE:,})")
    # sdeUSD's looper rests on nothing the write-down or the sale moved: its δ₁ stays.
    sdeusd = [
        r.thresholds.set_index(["symbol", "shock"]).loc[("sdeUSD", "depeg"), "first_liquidation_frac"]
        for r in (seeded, written, after)
    ]
    assert sdeusd[0] == sdeusd[1] == sdeusd[2]


def test_susde_past_the_first_looper(susde, table):
    walk = Walk(susde, SUSDE_FEEDS, table)
    seeded = walk.check("seeded")
    usdt = seeded.snapshot.token_address("USDT")
    by_position = seeded.solver.first_liquidation_by_position("depeg", usdt)
    (_, looper), first = min(by_position.items(), key=lambda kv: kv[1])
    scale_feed(susde, "USDT/USD", 1 - first - BP)
    moved = walk.check(f"USDT/USD × (1 − {first:.2%} − 1 bp)")
    assert moved.now.loc[moved.now["liquidatable_now"], "account"].tolist() == [looper]


def test_minimal_past_its_riskiest_borrower(minimal, table):
    """An independent Morpho market whose riskiest borrower is liquidatable now (the ETH/USD feed
    one basis point past its liquidation price): it is listed as such, and δ₁ is the next
    borrower's distance from the new price, bracketed on chain — not a basis point."""
    walk = Walk(minimal, {"WETH": "ETH/USD"}, table)
    seeded = walk.check("minimal seeded")
    weth = seeded.snapshot.token_address("WETH")
    by_position = seeded.solver.first_liquidation_by_position("depeg", weth)
    ((_, riskiest), first), ((_, following), second) = sorted(by_position.items(), key=lambda kv: kv[1])[:2]
    scale_feed(minimal, "ETH/USD", 1 - first - BP)
    moved = walk.check(f"ETH/USD × (1 − {first:.2%} − 1 bp)")
    assert moved.now.loc[moved.now["liquidatable_now"], "account"].tolist() == [riskiest]
    now = moved.thresholds.set_index("symbol").loc["WETH"]
    assert now["liquidatable_now"] == 1
    # the next borrower, measured from the moved price
    assert now["first_liquidation_frac"] == pytest.approx(1 - (1 - second) / (1 - first - BP), abs=1.5 * BP)
    assert following in {a for (_, a) in moved.solver.first_liquidation_by_position("depeg", weth)}

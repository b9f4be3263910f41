"""The solver's view of a Snapshot: floats, in one place, and the starting prices.

This is where loopscan's exact integers become floats (token amounts in whole tokens, prices
in the numeraire). Everything the cascade needs is prepared once here, so a fixed point is
only arithmetic.

Starting prices (`p0`, numeraire: USD):

1. a reserve of a pooled market (Aave-like) is priced by the pool's own oracle (base currency USD);
   a credit manager's feed of its loan token (account margin) prices only its own check, as a
   Morpho oracle does;
2. a loan token with no such price is the numeraire's unit (1.0) when it is a base token — the
   stablecoins these pyramids are built on — and `assumed_par` lists them;
3. the collateral of an isolated market with a market oracle (or a PT's own feed) is priced by that
   oracle; a PT with an exit (its Pendle market) starts at the price there instead: a PT feed is
   its lender's price, not a market's;
4. a vault share is priced at its book value: reported assets per share times its asset's price;
5. a credit account's collateral priced by none of these is priced by its market feed; where the
   market prices its loan token itself (a Comet's base feed, whose unit may be ETH; Euler's quotes
   in the loan token), through the loan token's price: feed × p0(loan) / the loan's own answer.

Market prices start at `p0` and move only by the shock and by sales through the token's exit
(`exits.Exit`: its venues against priced tokens, split across them, relative to the best price
at the pin);
a vault share's market price never stays above its book value (minting at book and selling would
arbitrage it down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from loopscan.model import ZERO_ADDRESS, Snapshot
from loopscan.protocols import registry
from loopscan.solver.book_accounts import CreditBook, credit_positions
from loopscan.solver.exits import Exit, Venue

__all__ = ["Book", "MarketBook", "VaultBook", "build_book"]

WAD = 10**18
# Oracle kinds whose answer is the collateral's starting price when nothing else prices it: a market
# feed, and a PT's own feed (linear discount, AMM TWAP: the lender's own price of the PT at the pin).
_PT_FEEDS = ("linear_discount", "amm_twap")
_PRICED_BY_ORACLE = ("market", "unknown", *_PT_FEEDS)


@dataclass
class MarketBook:
    """One market and its positions, as arrays aligned on `accounts`."""

    key: str  # "<protocol address>:<market id>"
    protocol: str
    margin: str  # isolated (one market's collateral against its debt), pooled (an account across the pool) or
    # account (a credit account: several collaterals against one debt, `credit`)
    rules: ModuleType  # the protocol's liquidation rules (`registry.rules`)
    loan: str
    collateral: str
    oracle_kind: str
    lltv: float  # isolated: the market's liquidation LTV; pooled: the reserve's liquidation threshold
    incentive: float  # liquidation incentive factor (1 + bonus)
    oracle0: float  # starting oracle price: loan tokens per collateral token (isolated) or numeraire (pooled)
    total_supply: float
    total_borrow: float
    accounts: list[str] = field(default_factory=list)
    collateral_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    debt: np.ndarray = field(default_factory=lambda: np.zeros(0))
    suppliers: dict[str, float] = field(default_factory=dict)  # account -> supplied (loan tokens)
    quote: str = "loan"  # what the collateral's oracle answers in: loan tokens, or the numeraire
    params: dict[str, int] = field(default_factory=dict)  # the protocol's own raw fields (`market_params`)
    oracle: str | None = None  # the oracle contract (pooled: the reserve's price source)
    tracks: str | None = None  # pooled: the reserve whose market price this one's oracle follows
    # Loan tokens credited to lenders (supplied − borrowed) beyond what the market holds
    # (`underlying_held`), exact from the integers; None where the protocol's holdings were not read.
    shortfall: float | None = None
    credit: CreditBook | None = None  # account margin: the collaterals, their oracles, LTs and caps (`book_accounts`)
    proven_on_node: bool = True  # False: its protocol's rules were never checked against its contracts on a node


@dataclass
class VaultBook:
    vault: str
    asset: str
    share_token: str
    total_assets: float  # in asset tokens
    total_supply: float  # in shares
    idle: float  # asset held as a plain balance: what redemptions can be paid from
    opaque: float
    supplies: dict[str, float] = field(default_factory=dict)  # market key -> supplied (asset tokens)


@dataclass
class Book:
    p0: dict[str, float]
    symbols: dict[str, str]
    decimals: dict[str, int]
    markets: dict[str, MarketBook]
    vaults: dict[str, VaultBook]  # by share token
    exits: dict[str, Exit]  # by token sold
    emodes: dict[tuple[str, int], tuple[float, float]]  # (protocol address, category) -> (LT, incentive)
    account_emode: dict[tuple[str, str], int]
    assumed_par: list[str]
    unknown_oracles: list[str]
    anchored: set[str] = field(default_factory=set)  # priced by their own market feed or the numeraire
    unsolved: dict[str, str] = field(default_factory=dict)  # market key -> why the solver leaves it out
    left_out: dict[str, str] = field(default_factory=dict)  # protocol the scan left out (--protocols) -> its role
    unpriced_pools: dict[str, str] = field(default_factory=dict)  # pool read but no exit -> why (its maths cannot price it)


def build_book(snap: Snapshot) -> Book:
    decimals = {t.address: int(t.decimals) for t in snap.tokens.itertuples()}
    symbols = {t.address: (t.symbol if isinstance(t.symbol, str) else t.address[:10]) for t in snap.tokens.itertuples()}
    p0: dict[str, float] = {}
    assumed: list[str] = []
    registry.check_names(snap.markets["protocol"], "snapshot markets")
    registry.check_names(snap.pools["venue"], "snapshot pools")
    markets, unsolved = _markets(snap, decimals)
    for m in snap.markets.itertuples():
        # The protocol's own price of its loan token, from the markets the solver applies only: a
        # market it leaves out (`unsolved`) must not move the solver's figures, and its price would
        # take the token out of `assumed_par` (USDC priced through its pool against xUSD).
        solved = markets.get(f"{m.protocol_address}:{m.market_id}")
        if solved is not None and solved.margin == "pooled" and m.loan_price_raw is not None and m.loan_price_scale:
            p0[m.loan_token] = m.loan_price_raw / m.loan_price_scale
    vault_of = {v.share_token: v for v in snap.vaults.itertuples()}
    for m in snap.markets.itertuples():
        if m.loan_token not in p0 and m.loan_token not in vault_of:
            p0[m.loan_token] = 1.0
            assumed.append(m.loan_token)
    for _ in range(4):  # collateral priced through loan tokens, vaults through assets
        for m in markets.values():
            if m.quote == "loan" and m.oracle_kind in _PRICED_BY_ORACLE and m.collateral not in p0:
                if m.loan in p0 and np.isfinite(m.oracle0):
                    p0[m.collateral] = m.oracle0 * p0[m.loan]
        for v in snap.vaults.itertuples():
            if v.asset in p0 and v.share_token not in p0 and v.total_supply:
                share = v.total_assets / 10 ** decimals.get(v.asset, 18) / (v.total_supply / 10 ** decimals.get(v.share_token, 18))
                p0[v.share_token] = share * p0[v.asset]
    for m in (m for m in markets.values() if m.credit is not None):
        # Legs of a market that prices its loan token itself (Comet's base feed, Euler's unit: no
        # collateral) answer in that feed's unit (a Comet's may be ETH): to the numeraire through
        # the loan token's price. Gearbox's loan token is a collateral: its feeds answer USD.
        own = m.credit.legs[m.credit.underlying].oracle0
        unit = p0.get(m.loan, float("nan")) / own if m.credit.loan_priced_apart and own > 0 else 1.0
        for leg in m.credit.legs:
            if leg.oracle_kind in ("market", "unknown") and leg.loan not in p0 and np.isfinite(leg.oracle0 * unit):
                p0[leg.loan] = leg.oracle0 * unit
    vaults = _vaults(snap, decimals, markets)
    exits, unpriced = _exits(snap, decimals, p0, set(assumed))
    for token in {m.collateral for m in markets.values() if m.oracle_kind in _PT_FEEDS} & set(exits):
        # A PT's own feed is its lender's price of it, not a market's: where the PT has an exit,
        # it starts at the best price there (its quote, its SY, at that quote's price).
        best = exits[token]
        p0[token] = best.venues[0].price0 * best.quote_prices[0]
    emodes = {(e.protocol_address, int(e.category)): (e.liquidation_threshold_bps / 1e4, e.liquidation_bonus_bps / 1e4)
              for e in snap.emode_categories.itertuples()}  # fmt: skip
    account_emode = {(a.protocol_address, a.account): int(a.emode_category) for a in snap.accounts.itertuples()}
    unknown = [k for k, m in markets.items() if m.oracle_kind == "unknown"]
    # A pooled reserve under a feed, classified or not (unknown is treated as market), is priced by
    # it, not through its pool partner: a pair priced through each other has no anchor.
    anchored = set(assumed) | {m.loan for m in markets.values() if m.margin == "pooled" and m.oracle_kind in ("market", "unknown")}
    left_out = {n: registry.spec(n).role for n in snap.missing.loc[snap.missing["kind"] == "protocol", "key"]}
    return Book(p0, symbols, decimals, markets, vaults, exits, emodes, account_emode, assumed, unknown, anchored, unsolved, left_out, unpriced)


def _oracle_price(c, loan_decimals: int, collateral_decimals: int) -> float:
    """A collateral's oracle answer as a float price: loan tokens (or the numeraire) per whole token."""
    if c is None or c.oracle_price_raw is None or not c.oracle_price_scale:
        return float("nan")
    price = c.oracle_price_raw / c.oracle_price_scale
    if c.price_quote == "loan":  # the answer is in loan units per collateral unit: to whole tokens
        price /= 10 ** (loan_decimals - collateral_decimals)
    return price


def _markets(snap: Snapshot, decimals: dict[str, int]) -> tuple[dict[str, MarketBook], dict[str, str]]:
    """The markets the solver applies its rules to, and those it leaves out, with why."""
    out: dict[str, MarketBook] = {}
    unsolved: dict[str, str] = {}
    collaterals: dict[str, list] = {}
    for c in snap.market_collaterals.itertuples():
        collaterals.setdefault(f"{c.protocol_address}:{c.market_id}", []).append(c)
    params: dict[str, dict[str, int]] = {}
    for p in snap.market_params.itertuples():
        params.setdefault(f"{p.protocol_address}:{p.market_id}", {})[p.param] = int(p.value)
    for m in snap.markets.itertuples():
        key = f"{m.protocol_address}:{m.market_id}"
        found = collaterals.get(key, [])
        if not registry.spec(m.protocol).solved:
            unsolved[key] = f"{m.protocol}: the solver does not apply its rules yet; its positions are in no threshold"
            continue
        rules, margin = registry.rules(m.protocol), registry.by_margin(m.protocol)
        if margin == "account":
            out[key] = _credit_market(m, key, rules, found, params.get(key, {}), decimals)
            out[key].proven_on_node = registry.spec(m.protocol).proven_on_node
            continue
        if len(found) > 1:
            unsolved[key] = (f"{m.protocol} market with {len(found)} collaterals: the solver applies one collateral per "
                             "market so far; its positions are in no threshold")  # fmt: skip
            continue
        dl = 10 ** decimals.get(m.loan_token, 18)
        c = found[0] if found else None  # a market that takes no collateral (Morpho's idle markets) lends only
        collateral = c.collateral_token if c is not None else ZERO_ADDRESS
        held = params.get(key, {}).get("underlying_held")
        credited = int(m.total_supply_assets) - int(m.total_borrow_assets)
        out[key] = MarketBook(
            key, m.protocol, margin, rules, m.loan_token, collateral, c.oracle_kind if c is not None else "fixed",
            c.liquidation_threshold_wad / WAD if c is not None else 0.0,
            c.liquidation_incentive_wad / WAD if c is not None else 1.0,
            _oracle_price(c, decimals.get(m.loan_token, 18), decimals.get(collateral, 18)),
            m.total_supply_assets / dl, m.total_borrow_assets / dl,
            quote=c.price_quote if c is not None else rules.ORACLE_QUOTE,
            params=params.get(key, {}),
            oracle=c.oracle if c is not None and isinstance(c.oracle, str) else None,
            shortfall=max(credited - held, 0) / dl if held is not None else None,
            proven_on_node=registry.spec(m.protocol).proven_on_node,
        )  # fmt: skip
    _link_shared_sources(out)
    posted = {(p.protocol_address, p.market_id, p.account, p.collateral_token): int(p.amount)
              for p in snap.position_collaterals.itertuples()}  # fmt: skip
    grouped = snap.positions.groupby(["protocol_address", "market_id"], sort=False)
    for (address, market_id), rows in grouped:
        mb = out.get(f"{address}:{market_id}")
        if mb is None:
            continue  # an unsolved market's positions
        if mb.credit is not None:
            credit_positions(mb, list(rows["account"]), list(rows["debt_amount"]), posted, (address, market_id), decimals)
            mb.suppliers = {a: int(s) / 10 ** decimals.get(mb.loan, 18) for a, s in zip(rows["account"], rows["supply_amount"], strict=True) if int(s)}
            continue
        dc = 10 ** decimals.get(mb.collateral, 18)
        dl = 10 ** decimals.get(mb.loan, 18)
        mb.accounts = list(rows["account"])
        mb.collateral_amount = np.array([posted.get((address, market_id, a, mb.collateral), 0) / dc for a in mb.accounts])
        mb.debt = np.array([int(x) / dl for x in rows["debt_amount"]])
        mb.suppliers = {a: int(s) / dl for a, s in zip(rows["account"], rows["supply_amount"], strict=True) if int(s)}
    return out, unsolved


def _credit_market(m, key: str, rules, found: list, params: dict[str, int], decimals: dict[str, int]) -> MarketBook:
    """An account-margin market (a credit manager, a Comet, an Euler vault): the market, and each
    collateral's oracle as a leg (`CreditBook`); its positions are filled in by `credit_positions`.

    A leg is quoted in the market's unit: the numeraire (Gearbox's and Comet's feeds answer USD), or
    the loan token at the pin where the protocol's answers are in the loan token (`price_quote`
    ``loan``: Euler's quotes over the debt's quote). Each leg's answer moves with its own token's
    market price, so within one market the units cancel in the health check."""
    quotes = {c.price_quote for c in found}
    if len(quotes) > 1:
        raise ValueError(f"{m.protocol} market {key}: its collaterals are quoted in {sorted(quotes)}, one unit is needed")
    in_loan = quotes == {"loan"}
    dl = decimals.get(m.loan_token, 18)
    legs = [MarketBook(f"{key}/{c.collateral_token}", m.protocol, "account", rules, c.collateral_token, c.collateral_token,
                       c.oracle_kind, c.liquidation_threshold_wad / WAD, c.liquidation_incentive_wad / WAD,
                       _oracle_price(c, dl, decimals.get(c.collateral_token, 18)), 0.0, 0.0,
                       quote="numeraire", oracle=c.oracle if isinstance(c.oracle, str) else None) for c in found]  # fmt: skip
    tokens = [leg.loan for leg in legs]
    if m.loan_token not in tokens:  # a column no account holds, priced as the market's unit or by its feed of the loan token
        if in_loan:
            price = 1.0
        elif isinstance(m.loan_oracle, str):
            price = m.loan_price_raw / m.loan_price_scale if m.loan_price_raw is not None and m.loan_price_scale else float("nan")
        else:
            raise ValueError(f"{m.protocol} market {key}: its loan token is neither a collateral nor priced by a feed, "
                             "nothing prices its debt")  # fmt: skip
        legs.append(MarketBook(f"{key}/{m.loan_token}", m.protocol, "account", rules, m.loan_token, m.loan_token,
                               m.loan_oracle_kind, 0.0, 1.0, price, 0.0, 0.0, quote="numeraire",
                               oracle=m.loan_oracle if isinstance(m.loan_oracle, str) else None))  # fmt: skip
        tokens.append(m.loan_token)
    apart = len(tokens) > len(found)
    loan = legs[tokens.index(m.loan_token)]
    kinds = {leg.oracle_kind for leg in legs}
    return MarketBook(
        key, m.protocol, "account", rules, m.loan_token, "+".join(sorted(t for t in tokens if t != m.loan_token)),
        "unknown" if "unknown" in kinds else loan.oracle_kind, 0.0, loan.incentive, loan.oracle0,
        m.total_supply_assets / 10**dl, m.total_borrow_assets / 10**dl, quote="numeraire", params=params, oracle=loan.oracle,
        credit=CreditBook(tokens, legs, tokens.index(m.loan_token), loan_priced_apart=apart),
    )  # fmt: skip


def _link_shared_sources(markets: dict[str, MarketBook]) -> None:
    """A pooled reserve priced by another reserve's feed (Aave pricing USDe with the USDT feed)
    follows that reserve's market price: its `fixed` oracle is fixed to the other asset."""
    owner = {(m.key.split(":")[0], m.oracle): m.key for m in markets.values()
             if m.margin == "pooled" and m.oracle and m.oracle_kind == "market"}  # fmt: skip
    for m in markets.values():
        if m.margin == "pooled" and m.oracle_kind == "fixed":
            m.tracks = owner.get((m.key.split(":")[0], m.oracle))


def _vaults(snap: Snapshot, decimals: dict[str, int], markets: dict[str, MarketBook]) -> dict[str, VaultBook]:
    out: dict[str, VaultBook] = {}
    for v in snap.vaults.itertuples():
        da, ds = 10 ** decimals.get(v.asset, 18), 10 ** decimals.get(v.share_token, 18)
        book = VaultBook(v.vault, v.asset, v.share_token, v.total_assets / da, v.total_supply / ds, 0.0, max(v.opaque_assets, 0) / da)
        for h in snap.holdings[snap.holdings["vault"] == v.vault].itertuples():
            if h.token != v.asset:
                continue
            if isinstance(h.market_id, str):
                book.supplies[f"{h.protocol_address}:{h.market_id}"] = int(h.amount) / da
            else:
                book.idle += int(h.amount) / da
        out[v.share_token] = book
    return out


def _exits(snap: Snapshot, decimals: dict[str, int], p0: dict[str, float], numeraire: set[str]) -> tuple[dict[str, Exit], dict[str, str]]:
    """For each token, every venue selling it against a priced token (its `Exit`), the best price
    at the pin (in the numeraire) first: where it is sold; and the pools no venue can price at the
    pin, with why (their depth is in no figure: the report lists them).

    Each venue protocol turns its own `pools` rows into venues (`registry.venues`). The
    numeraire's own tokens (`assumed_par`) are never priced by a pool — USDC is not worth less
    because the WETH it is paired with falls. A pool of several coins sells a token for one of
    them (the numeraire's first, then in coin order): its coins share one curve, so selling it
    for two would count the same depth twice. A venue with no depth at the pin (`liquidity` 0: a
    price nobody trades at) is a token's exit only if it has no other, and then only the best one.
    """
    rows: dict[str, dict[str, list]] = {}
    for table in ("pool_coins", "ticks"):
        for r in getattr(snap, table).itertuples():
            rows.setdefault(r.pool, {}).setdefault(table, []).append(r)
    for r in snap.market_params.itertuples():  # a venue's own fields, kept as its pool's market (Pendle's)
        rows.setdefault(r.market_id, {}).setdefault("market_params", []).append(r)
    found: dict[str, dict[str, Venue]] = {}  # token -> pool -> venue
    unpriced: dict[str, str] = {}
    for p in snap.pools.itertuples():
        try:
            pool_venues = registry.venues(p.venue, p, rows.get(p.pool, {}), decimals)
        except registry.VenueUnpriced as exc:
            unpriced[p.pool] = f"{p.venue}: {exc}"
            continue
        for venue in pool_venues:
            if venue.quote not in p0 or venue.token in numeraire:
                continue
            pools = found.setdefault(venue.token, {})
            kept = pools.get(venue.address)
            if kept is None or (venue.quote in numeraire and kept.quote not in numeraire):
                pools[venue.address] = venue
    exits: dict[str, Exit] = {}
    for token, pools in found.items():
        deep = [v for v in pools.values() if v.liquidity > 0]
        venues = deep or [max(pools.values(), key=lambda v: (v.quote in numeraire, v.liquidity))]
        venues.sort(key=lambda v: (v.price0 * p0[v.quote], v.quote in numeraire, v.liquidity), reverse=True)
        exits[token] = Exit(token, tuple(venues), tuple(p0[v.quote] for v in venues))
    return exits, unpriced

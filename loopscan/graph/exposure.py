"""Look-through exposure: what each vault's value ultimately rests on.

A vault's reported assets are split by what backs them, and each part is followed down:

* a balance of a base token (one no vault in the snapshot issues) rests on that base token;
* a balance of a receipt token rests on whatever that receipt's vault rests on;
* a principal token (kind `pt`) rests on what it redeems into at expiry (`build.redemptions`);
* a supply position in a lending market rests on the market: its idle part on the loan token,
  its lent-out part on the borrowers' collateral (a Morpho market's one collateral token; for
  a pooled market such as an Aave reserve, each borrower's collateral, weighted by their debt
  and valued at the pool's own oracle prices; for a credit manager's market, each account's
  collaterals, weighted by its debt and valued at the manager's prices), followed down again;
* `opaque_assets` rest on nothing the chain shows: an `opaque` leaf naming the vault.

The result gives, per vault, the fraction on each base token, each opaque leaf, and each market
passed through (`market` rows overlap the leaves: they say how much flows through a market,
not a separate part). A cycle of holdings (A holds B, B lends against A) is cut where it
closes and reported as a `circular` leaf, not followed forever.

Amounts are the snapshot's integers; fractions are floats (ratios, not amounts).

    >>> exposure = look_through(snapshot)                 # doctest: +SKIP
    >>> exposure.query("vault_symbol == 'deUSD' and kind == 'opaque'")["fraction"].sum()   # doctest: +SKIP
    0.594
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from loopscan.graph.build import margins, redemptions
from loopscan.model import Snapshot
from loopscan.model.views import market_collateral, position_collateral

__all__ = ["look_through", "Exposure"]

Exposure = dict[tuple[str, str], float]  # (kind, target) -> fraction; kind: base, opaque, market, circular, unpriced


class _LookThrough:
    def __init__(self, snap: Snapshot) -> None:
        self.decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"].astype(int), strict=True))
        self.vaults = {v.vault: v for v in snap.vaults.itertuples()}
        self.issuer = {v.share_token: v.vault for v in snap.vaults.itertuples()}
        self.holdings = defaultdict(list)
        for h in snap.holdings.itertuples():
            self.holdings[h.vault].append(h)
        # One collateral per market and position so far (views: `loopscan.model.views`).
        self.markets = {(m.protocol_address, m.market_id): m for m in market_collateral(snap).itertuples()}
        self.collaterals: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.collateral_price: dict[tuple[str, str, str], float] = {}  # a market's own price of each collateral
        for c in snap.market_collaterals.itertuples():
            self.collaterals[c.protocol_address, c.market_id].append(c.collateral_token)
            if not _missing(c.oracle_price_raw) and not _missing(c.oracle_price_scale) and int(c.oracle_price_scale):
                self.collateral_price[c.protocol_address, c.market_id, c.collateral_token] = int(c.oracle_price_raw) / int(c.oracle_price_scale)
        self.positions = defaultdict(list)
        for p in position_collateral(snap).itertuples():
            self.positions[p.protocol_address].append(p)
        self.memo: dict[str, Exposure] = {}
        self.redeems = redemptions(snap)
        self.margins = margins(snap)

    def token(self, token: str, stack: tuple[str, ...]) -> Exposure:
        if token in self.redeems:  # a principal token rests on what it redeems into
            return self.token(self.redeems[token], stack)
        vault = self.issuer.get(token)
        return self.vault(vault, stack) if vault else {("base", token): 1.0}

    def vault(self, vault: str, stack: tuple[str, ...] = ()) -> Exposure:
        if vault in self.memo:
            return self.memo[vault]
        if vault in stack:
            return {("circular", vault): 1.0}
        v = self.vaults[vault]
        out: Exposure = defaultdict(float)
        if v.total_assets <= 0:
            return out
        stack = (*stack, vault)
        for h in self.holdings[vault]:
            if h.token != v.asset:
                continue  # not in the vault's unit: listed in holdings, not weighed (no price)
            weight = h.amount / v.total_assets
            if isinstance(h.market_id, str):
                part = self.market(h.protocol_address, h.market_id, stack)
            else:
                part = self.token(h.token, stack)
            for key, frac in part.items():
                out[key] += weight * frac
        if v.opaque_assets > 0:
            out[("opaque", vault)] += v.opaque_assets / v.total_assets
        result = dict(out)
        if not any(k[0] == "circular" for k in result):
            self.memo[vault] = result  # a partial answer inside a cycle is not the vault's own
        return result

    def market(self, protocol_address: str, market_id: str, stack: tuple[str, ...]) -> Exposure:
        m = self.markets[(protocol_address, market_id)]
        out: Exposure = defaultdict(float)
        out[("market", f"{protocol_address}:{market_id}")] = 1.0
        if m.total_supply_assets <= 0:
            return out
        lent = min(m.total_borrow_assets, m.total_supply_assets) / m.total_supply_assets
        for key, frac in self.token(m.loan_token, stack).items():
            out[key] += (1 - lent) * frac
        for (token, valued), share in self.borrowers_collateral(m).items():
            # Collateral that cannot be valued (no price or no decimals) is not followed down.
            part = self.token(token, stack) if valued else {("unpriced", token): 1.0}
            for key, frac in part.items():
                out[key] += lent * share * frac
        return dict(out)

    def borrowers_collateral(self, m) -> dict[tuple[str, bool], float]:
        """What a market's borrowed part rests on: (collateral token, could be valued) -> share."""
        margin = self.margins[m.protocol_address, m.market_id]
        if margin == "account":
            return self.accounts_collateral(m)
        if margin != "pooled":
            accepted = self.collaterals[(m.protocol_address, m.market_id)]
            if len(accepted) == 1:
                return {(accepted[0], True): 1.0}
            # Several collaterals of an isolated market: their mix is not valued here, so the
            # borrowed part is shown resting on them, split evenly and marked unpriced.
            return {(t, False): 1.0 / len(accepted) for t in accepted}
        # A pooled reserve: each borrower's collateral mix, weighted by their debt in it.
        price = {mm.market_id: mm.oracle_price_raw for mm in self.markets.values() if mm.protocol_address == m.protocol_address}
        accounts: dict[str, dict] = defaultdict(dict)
        for p in self.positions[m.protocol_address]:
            accounts[p.account][p.market_id] = p
        debt_total = sum(a[m.market_id].debt_amount for a in accounts.values() if m.market_id in a)
        shares: dict[tuple[str, bool], float] = defaultdict(float)
        for positions in accounts.values():
            owed = positions.get(m.market_id)
            if owed is None or not owed.debt_amount:
                continue
            posted = {t: p.collateral_amount for t, p in positions.items() if p.collateral_amount}
            if any(price.get(t) is None or t not in self.decimals for t in posted):
                for t in posted:
                    shares[(t, False)] += owed.debt_amount / debt_total / len(posted)
                continue
            values = {t: amount * price[t] / 10 ** self.decimals[t] for t, amount in posted.items()}
            total = sum(values.values())
            for token, value in values.items():
                shares[(token, True)] += owed.debt_amount / debt_total * value / total
        return dict(shares)

    def accounts_collateral(self, m) -> dict[tuple[str, bool], float]:
        """A credit manager's borrowed part: each account's collaterals (the loan token an account
        keeps among them), weighted by its debt and valued at the manager's own prices; an account
        holding a token it has no price for is split evenly over its tokens, marked unpriced."""
        debt: dict[str, int] = defaultdict(int)
        posted: dict[str, dict[str, int]] = defaultdict(dict)
        for p in self.positions[m.protocol_address]:
            if p.market_id != m.market_id:
                continue
            debt[p.account] += int(p.debt_amount)
            if p.collateral_amount:
                posted[p.account][p.collateral_token] = int(p.collateral_amount)
        total = sum(debt.values())
        shares: dict[tuple[str, bool], float] = defaultdict(float)
        for account, owed in debt.items():
            held = posted.get(account, {})
            if not owed or not held:
                continue
            price = {t: self.collateral_price.get((m.protocol_address, m.market_id, t)) for t in held}
            if any(price[t] is None or t not in self.decimals for t in held):
                for t in held:
                    shares[(t, False)] += owed / total / len(held)
                continue
            values = {t: amount * price[t] / 10 ** self.decimals[t] for t, amount in held.items()}
            worth = sum(values.values())
            for token, value in values.items():
                shares[(token, True)] += owed / total * (value / worth if worth else 1 / len(values))
        return dict(shares)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def look_through(snap: Snapshot) -> pd.DataFrame:
    """One row per (vault, kind, target): the fraction of the vault's reported assets there."""
    lt = _LookThrough(snap)
    symbols = dict(zip(snap.tokens["address"], snap.tokens["symbol"], strict=True))
    rows = []
    for vault in lt.vaults:
        for (kind, target), fraction in sorted(lt.vault(vault).items()):
            rows.append(
                {"vault": vault, "vault_symbol": symbols.get(vault), "kind": kind, "target": target,
                 "target_symbol": symbols.get(target), "fraction": fraction}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["vault", "vault_symbol", "kind", "target", "target_symbol", "fraction"])

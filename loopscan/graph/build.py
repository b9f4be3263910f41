"""A Snapshot as a networkx MultiDiGraph: tokens, vaults, markets and accounts, and who backs whom.

Node ids are `kind:key` strings (`token:0xa0b8…`, `vault:0x…`, `market:<protocol address>:<id>`,
`account:0x…`, `opaque:<vault>`), so a token and the ERC-4626 vault that issues it are two
nodes joined by an `issues` edge. Edge kinds (the `kind` attribute):

============  =====================  ==================================================
kind          from → to              meaning (amount in the `token`'s units)
============  =====================  ==================================================
backs         token/market/opaque →  the vault holds the token, a supply position in the
              vault                  market, or backing nobody can see on chain
issues        vault → token          the vault mints that receipt token
collateral    account → market       the account posts `token` as collateral
borrows       market → account       the account owes `token` to the market
supplies      account → market       the account lends `token` to the market
lends         market → token         the market lends out `token` (its loan token)
secures       token → market         the token is the market's collateral
redeems       token → token          a principal token (kind `pt`) redeems, at expiry,
                                     into that token (the other coin of its market)
============  =====================  ==================================================

    >>> g = build_graph(snapshot)                       # doctest: +SKIP
    >>> [d["kind"] for _, _, d in g.out_edges("vault:0x…", data=True)]   # doctest: +SKIP
    ['issues']
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from loopscan.model import Snapshot
from loopscan.protocols import registry

__all__ = ["build_graph", "margins", "redemptions", "token_node", "vault_node", "market_node", "account_node", "opaque_node"]


def token_node(address: str) -> str:
    return f"token:{address}"


def vault_node(address: str) -> str:
    return f"vault:{address}"


def market_node(protocol_address: str, market_id: str) -> str:
    return f"market:{protocol_address}:{market_id}"


def account_node(address: str) -> str:
    return f"account:{address}"


def opaque_node(vault: str) -> str:
    return f"opaque:{vault}"


def build_graph(snap: Snapshot) -> nx.MultiDiGraph:
    """The risk graph of a snapshot. Amounts on edges are the snapshot's exact integers."""
    g = nx.MultiDiGraph(chain_id=snap.meta.chain_id, block=snap.meta.block_number)
    for t in snap.tokens.itertuples():
        g.add_node(token_node(t.address), kind="token", address=t.address, symbol=t.symbol, decimals=int(t.decimals),
                   token_kind=t.kind)  # fmt: skip
    for pt, underlying in redemptions(snap).items():
        _token(g, underlying)
        g.add_edge(token_node(pt), token_node(underlying), kind="redeems", token=underlying)
    margin_of = margins(snap)
    accepted: dict[tuple[str, str], list] = defaultdict(list)
    for c in snap.market_collaterals.itertuples():
        accepted[c.protocol_address, c.market_id].append(c)
    for m in snap.markets.itertuples():
        node = market_node(m.protocol_address, m.market_id)
        margin = margin_of[m.protocol_address, m.market_id]
        collaterals = accepted[m.protocol_address, m.market_id]
        g.add_node(node, kind="market", protocol=m.protocol, margin=margin, protocol_address=m.protocol_address,
                   market_id=m.market_id, loan_token=m.loan_token,
                   collateral_token=",".join(c.collateral_token for c in collaterals),
                   oracle_kind=",".join(c.oracle_kind for c in collaterals),
                   total_supply=m.total_supply_assets, total_borrow=m.total_borrow_assets)  # fmt: skip
        _token(g, m.loan_token)
        g.add_edge(node, token_node(m.loan_token), kind="lends", token=m.loan_token, amount=m.total_supply_assets)
        if margin != "pooled":
            # An isolated market (or a credit manager) names its collaterals; a pooled protocol's reserves are each
            # other's collateral, which the account edges carry.
            for c in collaterals:
                _token(g, c.collateral_token)
                g.add_edge(token_node(c.collateral_token), node, kind="secures", token=c.collateral_token)
    for v in snap.vaults.itertuples():
        node = vault_node(v.vault)
        g.add_node(node, kind="vault", address=v.vault, vault_kind=v.kind, asset=v.asset, total_assets=v.total_assets,
                   total_supply=v.total_supply, visible_assets=v.visible_assets, opaque_assets=v.opaque_assets)  # fmt: skip
        _token(g, v.share_token)
        g.add_edge(node, token_node(v.share_token), kind="issues", token=v.share_token, amount=v.total_supply)
        if v.opaque_assets > 0:
            g.add_node(opaque_node(v.vault), kind="opaque", vault=v.vault)
            g.add_edge(opaque_node(v.vault), node, kind="backs", token=v.asset, amount=v.opaque_assets)
    for h in snap.holdings.itertuples():
        if h.market_id is None or h.market_id != h.market_id:  # None or NaN: a plain balance
            _token(g, h.token)
            source = token_node(h.token)
        else:
            source = market_node(h.protocol_address, h.market_id)
        g.add_edge(source, vault_node(h.vault), kind="backs", token=h.token, amount=h.amount, holder=h.holder)
    loan = {market_node(m.protocol_address, m.market_id): m.loan_token for m in snap.markets.itertuples()}
    posted: dict[tuple[str, str, str], list] = defaultdict(list)
    for c in snap.position_collaterals.itertuples():
        posted[c.protocol_address, c.market_id, c.account].append(c)
    for p in snap.positions.itertuples():
        market = market_node(p.protocol_address, p.market_id)
        account = account_node(p.account)
        g.add_node(account, kind="account", address=p.account)
        for c in posted[p.protocol_address, p.market_id, p.account]:
            if c.amount:
                g.add_edge(account, market, kind="collateral", token=c.collateral_token, amount=c.amount)
        if p.debt_amount:
            g.add_edge(market, account, kind="borrows", token=loan[market], amount=p.debt_amount)
        if p.supply_amount:
            g.add_edge(account, market, kind="supplies", token=loan[market], amount=p.supply_amount)
    return g


def _token(g: nx.MultiDiGraph, address: str) -> None:
    """A token node, even for a token whose metadata could not be read (it is in `missing`)."""
    node = token_node(address)
    if node not in g:
        g.add_node(node, kind="token", address=address, symbol=None, decimals=None, token_kind=None)


def redemptions(snap: Snapshot) -> dict[str, str]:
    """Each principal token (token kind `pt`) and what it redeems into at expiry: the other coin of
    the pool it trades in (a PT's market pairs it with the yield token's SY)."""
    pts = set(snap.tokens.loc[snap.tokens["kind"] == "pt", "address"])
    out: dict[str, str] = {}
    for pool in snap.pools.itertuples():
        for token, other in ((pool.token0, pool.token1), (pool.token1, pool.token0)):
            if token in pts and other not in pts:
                out.setdefault(token, other)
    return out


def margins(snap: Snapshot) -> dict[tuple[str, str], str]:
    """Each market's margin rule, by (protocol address, market id): isolated, pooled or account.
    The graph's one question to the protocol registry."""
    return {(m.protocol_address, m.market_id): registry.by_margin(m.protocol) for m in snap.markets.itertuples()}

"""Loops: cycles in the token projection of the risk graph.

The token projection has one node per token and an edge `A → B` when holding or posting A
leads to B:

* `mints`: A is the asset of a vault that issues B (USDC → xUSD), or the reserve of a backed
  stablecoin (USDC → deUSD);
* `borrows`: A is posted as collateral to borrow B: in a Morpho market lending B against A
  (xUSD → USDC), or by an account of a pooled protocol (Aave) with A as collateral and B as debt;
* `backs`: a vault issuing B holds a supply position in a market whose collateral is A
  (xUSD → deUSD: deUSD's backing is a loan against xUSD).

A *loop* is a cycle with at least one `borrows` and one `mints` edge: borrowed tokens are
turned into the receipt that secured the borrowing, directly (USDC → xUSD → USDC) or through
other protocols and vaults (USDC → deUSD → sdeUSD → USDC).

    >>> [loop.tokens for loop in find_loops(graph)]      # doctest: +SKIP
    [('0xusdc', '0xxusd'), ...]
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import pandas as pd

from loopscan.graph.build import margins
from loopscan.model import ZERO_ADDRESS
from loopscan.model.views import market_collateral, position_collateral

__all__ = ["Loop", "token_projection", "find_loops", "loop_table"]


@dataclass(frozen=True)
class Loop:
    """A cycle of tokens, starting at its base-most token, and the kind of each step."""

    tokens: tuple[str, ...]
    steps: tuple[str, ...]  # steps[i] is the edge kind from tokens[i] to tokens[i + 1] (cyclically)
    markets: tuple[str, ...]  # the markets of its `borrows` steps


def token_projection(g: nx.MultiDiGraph) -> nx.DiGraph:
    """Tokens only; edge attribute `kinds` (a set) says why A leads to B, `via` the nodes."""
    p = nx.DiGraph()

    def link(a: str, b: str, kind: str, via: str) -> None:
        if p.has_edge(a, b):
            p[a][b]["kinds"].add(kind)
            p[a][b]["via"].add(via)
        else:
            p.add_edge(a, b, kinds={kind}, via={via})

    for node, data in g.nodes(data=True):
        if data["kind"] == "token":
            p.add_node(data["address"])
            for _, _, d in g.out_edges(node, data=True):
                if d["kind"] == "redeems":  # the token a principal token is split from mints it
                    link(d["token"], data["address"], "mints", node)
        elif data["kind"] == "vault":
            issued = [d["token"] for _, _, d in g.out_edges(node, data=True) if d["kind"] == "issues"]
            for receipt in issued:
                link(data["asset"], receipt, "mints", node)
                for src, _, d in g.in_edges(node, data=True):
                    if d["kind"] == "backs" and g.nodes[src]["kind"] == "market":
                        for collateral in g.nodes[src]["collateral_token"].split(","):
                            if collateral and collateral != ZERO_ADDRESS:
                                link(collateral, receipt, "backs", src)
        elif data["kind"] == "market":
            for _, _, d in g.in_edges(node, data=True):
                if d["kind"] == "secures":
                    link(d["token"], data["loan_token"], "borrows", node)
        elif data["kind"] == "account":
            # Pooled protocols: any collateral of the account secures any of its debts there.
            posted = [(m, d["token"]) for _, m, d in g.out_edges(node, data=True) if d["kind"] == "collateral"]
            owed = [(m, d["token"]) for m, _, d in g.in_edges(node, data=True) if d["kind"] == "borrows"]
            for market, collateral in posted:
                if g.nodes[market]["margin"] != "pooled":
                    continue  # the market's own `secures` edge says it
                for debt_market, debt in owed:
                    if g.nodes[debt_market]["protocol_address"] == g.nodes[market]["protocol_address"]:
                        link(collateral, debt, "borrows", debt_market)
    for a, b in list(p.edges):
        if a == b:
            p.remove_edge(a, b)  # e.g. an Aave reserve used as collateral to borrow itself
    return p


def find_loops(g: nx.MultiDiGraph, max_length: int = 8) -> list[Loop]:
    """Every simple cycle up to `max_length` tokens that both borrows and mints."""
    p = token_projection(g)
    loops = []
    for cycle in nx.simple_cycles(p, length_bound=max_length):
        steps = [p[a][b]["kinds"] for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)]
        if not any("borrows" in s for s in steps) or not any("mints" in s for s in steps):
            continue
        start = min(range(len(cycle)), key=lambda i: _base_rank(g, cycle[i]))
        cycle = cycle[start:] + cycle[:start]
        pairs = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        kinds = tuple(_main_kind(p[a][b]["kinds"]) for a, b in pairs)
        markets = tuple(sorted(v for a, b in pairs if "borrows" in p[a][b]["kinds"] for v in p[a][b]["via"]
                               if v.startswith("market:")))  # fmt: skip
        loops.append(Loop(tuple(cycle), kinds, markets))
    return sorted(loops, key=lambda lp: (len(lp.tokens), lp.tokens))


def _base_rank(g: nx.MultiDiGraph, address: str) -> tuple[int, str]:
    """Base tokens first, so a loop reads from the asset it is built on."""
    kind = g.nodes.get(f"token:{address}", {}).get("token_kind")
    return (0 if kind == "base" else 1, address)


def _main_kind(kinds: set[str]) -> str:
    for kind in ("borrows", "mints", "backs"):
        if kind in kinds:
            return kind
    raise ValueError(kinds)


def loop_table(snap, g: nx.MultiDiGraph) -> pd.DataFrame:
    """Each loop with its size and its loopers' leverage: collateral value over equity.

    A looper is an account that posts one of the loop's receipts and borrows one of its tokens
    in the same protocol; values are in the market's own unit (Morpho: loan-token units at the
    market's oracle price; Aave: the pool's base currency at its oracle prices; a credit account:
    loan-token units, each collateral through its own feed and the loan token's), so each loop's
    leverage is `collateral / (collateral − debt)` summed over its loopers.
    """
    symbols = dict(zip(snap.tokens["address"], snap.tokens["symbol"], strict=True))
    decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"].astype(int), strict=True))
    joined = list(market_collateral(snap).itertuples())
    markets = {(m.protocol_address, m.market_id): m for m in joined}
    feeds = {(m.protocol_address, m.market_id, m.collateral_token): m for m in joined}  # a credit account's collaterals
    margin_of = margins(snap)
    by_account: dict[tuple[str, str], list] = {}
    for p in position_collateral(snap).itertuples():
        by_account.setdefault((p.protocol_address, p.account), []).append(p)
    rows = []
    for loop in find_loops(g):
        tokens = set(loop.tokens)
        collateral = debt = 0.0
        loopers = 0
        for (protocol_address, _), positions in by_account.items():
            col = owed = 0.0
            for p in positions:
                m = markets[(protocol_address, p.market_id)]
                margin = margin_of[protocol_address, p.market_id]
                if margin == "account":  # each collateral through its own feed and the loan token's, to loan units
                    c = feeds.get((protocol_address, p.market_id, p.collateral_token))
                    if p.collateral_token in tokens and c is not None and c.oracle_price_raw is not None and m.loan_price_raw:
                        units = 10 ** (decimals.get(m.loan_token, 18) - decimals.get(p.collateral_token, 18))
                        col += p.collateral_amount * c.oracle_price_raw / m.loan_price_raw * units
                    if m.loan_token in tokens:
                        owed += p.debt_amount
                    continue
                if m.oracle_price_raw is None or m.oracle_price_scale is None:
                    continue
                if margin == "isolated":
                    if p.collateral_token in tokens and m.loan_token in tokens and p.debt_amount:
                        col += p.collateral_amount * m.oracle_price_raw / m.oracle_price_scale
                        owed += p.debt_amount
                else:  # pooled: value each leg at the pool's price of that reserve
                    unit = m.oracle_price_raw / 10 ** decimals.get(m.loan_token, 18)
                    if p.collateral_token in tokens:
                        col += p.collateral_amount * unit
                    if m.loan_token in tokens:
                        owed += p.debt_amount * unit
            if col and owed:
                collateral, debt, loopers = collateral + col, debt + owed, loopers + 1
        rows.append(
            {
                "loop": " → ".join(symbols.get(t) or t for t in (*loop.tokens, loop.tokens[0])),
                "steps": " ".join(loop.steps), "length": len(loop.tokens), "markets": len(loop.markets),
                "loopers": loopers, "leverage": collateral / (collateral - debt) if collateral > debt else float("inf"),
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["loop", "steps", "length", "markets", "loopers", "leverage"])

"""The graph on tiny literal snapshots, with answers worked by hand."""

from __future__ import annotations

import pytest
from literal_snapshots import MORPHO, M, holding, market, position, token, vault
from literal_snapshots import snapshot as snap

from loopscan.graph import (
    build_graph,
    find_loops,
    look_through,
    loop_table,
    pyramids,
    vault_depths,
)
from loopscan.model import Snapshot

B, V, S, A, C = ("0x" + c * 40 for c in "bcdae")  # base, opaque vault, backed stablecoin, account, vault 2


@pytest.fixture
def pyramid() -> Snapshot:
    """V: 1000 reported, 250 of B seen. S: 500 owed, 100 of B and 400 lent on M against V
    (M: 400 supplied, 300 borrowed by A, who posts 600 V at a price of 1)."""
    return snap(
        {
            "tokens": [token(B, "B"), token(V, "V", "vault_share"), token(S, "S")],
            "vaults": [vault(V, B, "erc4626", 1000, 250), vault(S, B, "backed_stablecoin", 500, 500)],
            "markets": [market(V, B, 400, 300)],
            "positions": [position(A, V, 600, 300, 0), position(S, V, 0, 0, 400)],
            "holdings": [holding(V, B, 250), holding(S, B, 100), holding(S, B, 400, M)],
        }
    )


def fractions(s: Snapshot, vault_: str) -> dict[tuple[str, str], float]:
    e = look_through(s)
    return {(r.kind, r.target): r.fraction for r in e[e["vault"] == vault_].itertuples()}


def test_exposure_follows_loans_down_to_the_collateral_backing(pyramid):
    # S = 100/500 B + 400/500 via M; M = 100/400 idle B + 300/400 lent against V;
    # V = 250/1000 B + 750/1000 opaque.
    # B: 0.2 + 0.8 * (0.25 + 0.75 * 0.25) = 0.55;  opaque V: 0.8 * 0.75 * 0.75 = 0.45;  M: 0.8.
    assert fractions(pyramid, S) == pytest.approx({("base", B): 0.55, ("opaque", V): 0.45, ("market", f"{MORPHO}:{M}"): 0.8})
    assert fractions(pyramid, V) == pytest.approx({("base", B): 0.25, ("opaque", V): 0.75})


def test_depth_and_multipliers(pyramid):
    assert vault_depths(pyramid) == {V: 1, S: 2}
    per_vault, per_base = pyramids(pyramid, look_through(pyramid))
    mult = dict(zip(per_vault["vault"], per_vault["multiplier"], strict=True))
    assert mult == pytest.approx({V: 4.0, S: 1 / 0.55})
    # Receipts 1000 + 500 on base held 250 (V) + 100 (S) + 100 idle in M: 1500 / 450.
    (row,) = per_base.itertuples()
    assert (row.base, row.depth, row.receipts_outstanding, row.base_held) == (B, 2, 1500.0, 450.0)
    assert row.multiplier == pytest.approx(1500 / 450)


def test_the_loop_and_its_leverage(pyramid):
    g = build_graph(pyramid)
    (loop,) = find_loops(g)
    assert (loop.tokens, loop.steps) == ((B, V), ("mints", "borrows"))
    # A posts 600 V at 1 against 300 B: 600 / (600 - 300) = 2x.
    (row,) = loop_table(pyramid, g).itertuples()
    assert (row.loop, row.loopers, row.leverage) == ("B → V → B", 1, 2.0)


def test_backing_through_a_loan_makes_a_longer_loop(pyramid):
    """S lends against V: B → V → S is a path, and S → B closes it if S is collateral for B."""
    s2 = snap(
        {
            **{k: v for k, v in _tables(pyramid).items()},
            "markets": [market(V, B, 400, 300), market(S, B, 50, 40, "0x" + "2" * 64)],
            "positions": [position(A, V, 600, 300, 0), position(S, V, 0, 0, 400), position(A, S, 80, 40, 0, "0x" + "2" * 64)],
        }
    )
    loops = {(lp.tokens, lp.steps) for lp in find_loops(build_graph(s2))}
    assert ((B, V, S), ("mints", "backs", "borrows")) in loops
    assert ((B, S), ("mints", "borrows")) in loops


def test_a_cycle_of_holdings_is_cut_and_reported():
    """V holds C's shares, C lends B against V: V -> C -> M(V) -> V closes a cycle."""
    s = snap(
        {
            "tokens": [token(B, "B"), token(V, "V", "vault_share"), token(C, "C", "vault_share")],
            "vaults": [vault(V, C, "erc4626", 100, 100), vault(C, B, "erc4626", 100, 100)],
            "markets": [market(V, B, 100, 100)],
            "holdings": [holding(V, C, 100), holding(C, B, 100, M)],
            "positions": [position(C, V, 0, 0, 100)],
        }
    )
    f = fractions(s, V)
    assert f[("circular", V)] == pytest.approx(1.0)
    assert vault_depths(s)[V] >= 1


def _tables(s: Snapshot) -> dict[str, list[dict]]:
    return {name: [{k: v for k, v in r.items() if k != "block"} for r in frame.to_dict("records")]
            for name, frame in s.tables().items() if not frame.empty}  # fmt: skip

"""Issue 13: every market of mainnet-zoo that no hazard touches is read exactly as on a clean chain.

The clean chain is mainnet-zoo with its hazards taken out (`zoo_helpers.without_hazards`: the
hazard tokens, their reserves, feeds and pools, every step naming one, what the accounts in them
borrowed, the Morpho markets and the events), seeded on its own devnet. Both are scanned; the
rows of the sane markets (markets, collaterals, parameters, positions, posted collateral, pools,
ticks, tokens) are compared table for table, addresses named by each devnet's manifest (the two chains deploy in a different order, so a contract's
address differs while its role does not).

Every Morpho market of the zoo is a hazard. A reserve is touched by a hazard when it is a hazard
token's, or lends to an account that holds a hazard leg: USDC, which the frozen, paused,
isolated, fee-on-transfer and rebasing borrowers borrow from, has other totals and so other interest on the clean chain. What is left is WETH's
reserve (supplied by the siloed and stable borrowers too: their WETH rows must not change) and
the WETH/USDC pool. WETH's first liquidation is the clean chain's too (its later thresholds are
not: the zoo's siloed and stable borrowers post WETH as well).
"""

from __future__ import annotations

import pandas as pd
import pytest
from scan_helpers import seeded_snapshot
from zoo_helpers import HAZARD_TOKENS, by_role, names, zoo_without

from loopscan.result import analyse

pytestmark = pytest.mark.devnet


def _sane(snap, roles: dict[str, str]) -> tuple[set[str], set[str]]:
    """The reserves and pools no hazard touches, by address (see the module docstring)."""
    hazard = {a for a, n in roles.items() if n.split(":")[-1] in HAZARD_TOKENS and n.startswith("tokens:")}
    morpho = {a for a, n in roles.items() if n.startswith("morpho_markets:")}
    risky = set(snap.positions.loc[snap.positions["market_id"].isin(hazard), "account"])
    lent_to = snap.positions[snap.positions["account"].isin(risky) & (snap.positions["debt_amount"].astype(object) > 0)]
    reserves = set(snap.markets["market_id"]) - hazard - morpho - set(lent_to["market_id"])
    pools = {p.pool for p in snap.pools.itertuples() if not {p.token0, p.token1} & hazard}
    return reserves, pools


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A devnet seeded from mainnet-zoo without its hazards; tests here only read it."""
    with zoo_without(tmp_path_factory.mktemp("scenario")) as net:
        yield net


async def test_the_sane_markets_read_as_on_a_chain_without_the_hazards(mainnet_zoo, clean):
    zoo_names, clean_names = names(mainnet_zoo), names(clean)
    snap, clean_snap = await seeded_snapshot(mainnet_zoo), await seeded_snapshot(clean)
    reserves, pools = _sane(snap, zoo_names)
    assert {zoo_names[a] for a in reserves | pools} == {"tokens:WETH", "uniswap_pools:WETH/USDC-5bp"}
    assert clean_snap.missing.empty
    in_sane = {
        "markets": ("market_id", reserves), "market_collaterals": ("market_id", reserves),
        "market_params": ("market_id", reserves), "positions": ("market_id", reserves),
        "position_collaterals": ("market_id", reserves), "pools": ("pool", pools), "ticks": ("pool", pools),
        "tokens": ("address", {a for a, n in zoo_names.items() if n in ("tokens:WETH", "tokens:USDC")}),
    }  # fmt: skip
    compared = {}
    for table, (column, keys) in in_sane.items():
        ours = getattr(snap, table)
        ours = by_role(ours[ours[column].isin(keys)], zoo_names)
        theirs = by_role(getattr(clean_snap, table), clean_names)
        theirs = theirs[theirs[column].isin(set(ours[column]))].reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, theirs, obj=table)
        compared[table] = len(ours)
    # Every table holds rows to compare (WETH's suppliers include the siloed and stable borrowers).
    # WETH's 15 Aave parameters (switches, underlying_held, ...); the pool's two initialised ticks.
    assert compared == {"markets": 1, "market_collaterals": 1, "market_params": 15, "positions": 3,
                        "position_collaterals": 3, "pools": 1, "ticks": 2, "tokens": 2}  # fmt: skip


async def test_the_first_liquidation_of_weth_is_the_clean_chains(mainnet_zoo, clean):
    """The weth-borrower (300 WETH against $600k USDC, HF 1.2375) is WETH's first liquidation on
    both chains: 1 − 1/1.2375 = 19.2 % (the zoo's WETH-backed hazard borrowers are healthier).
    In the zoo USDC shares its $1 feed with five zoo tokens, so its oracle is unclassified; it
    once was priced through the WETH/USDC pool times WETH's move, and fell with WETH (39.40 %)."""
    firsts = []
    for net in (mainnet_zoo, clean):
        result = analyse(await seeded_snapshot(net))
        weth = net.manifest["tokens"]["WETH"]["address"].lower()
        firsts.append(result.thresholds.set_index("token").loc[weth, "first_liquidation_frac"])
    assert firsts[1] == pytest.approx(0.192, abs=1e-3)  # the clean chain
    assert firsts[0] == pytest.approx(firsts[1], abs=1e-4)

"""Issue 13: every market of mainnet-zoo that no hazard touches is read exactly as on a clean chain.

The clean chain is mainnet-zoo with its hazards taken out (`without_hazards`: the hazard tokens,
their reserves, feeds and pools, every step naming one, what the accounts in them borrowed, and
the events), seeded on its own
devnet. Both are scanned; the rows of the sane markets (markets, collaterals, parameters,
positions, posted collateral, pools, ticks, tokens) are compared table for table, addresses
named by each devnet's manifest (the two chains deploy in a different order, so a contract's
address differs while its role does not).

A reserve is touched by a hazard when it is a hazard token's, or lends to an account that holds
a hazard leg: USDC, which the frozen, paused, isolated, fee-on-transfer and rebasing borrowers
borrow from, has other totals and so other interest on the clean chain. What is left is WETH's
reserve (supplied by the siloed and stable borrowers too: their WETH rows must not change) and
the WETH/USDC pool. WETH's first liquidation is the clean chain's too (its later thresholds are
not: the zoo's siloed and stable borrowers post WETH as well).
"""

from __future__ import annotations

import json
import tomllib

import pandas as pd
import pytest
from devnet_helpers import aave_pool
from scan_helpers import seeded_snapshot

from loopscan import devnet
from loopscan.devnet.scenario import scenario_path
from loopscan.result import analyse

pytestmark = pytest.mark.devnet

# The zoo's hazards (fixtures/scenarios/mainnet-zoo.toml's header): frozen, paused, isolated,
# siloed, stable-rate, fee-on-transfer and rebasing reserves; the pools they are in.
HAZARD_TOKENS = frozenset({"FRZ", "PAU", "ISO", "SIL", "STB", "FOT", "REB"})
# What differs between two chains however they are read: the block read, and when a reserve
# was last touched (the clean chain has fewer transactions before it).
HISTORY_COLUMNS = ("block", "last_update")


def without_hazards(zoo: dict) -> dict:
    """The zoo's scenario without the hazard tokens and everything that names one, nor the
    borrowing of an account that took part in a hazard (its debt rests on it)."""

    def hazardous(entry: dict) -> bool:
        return bool({entry.get(k) for k in ("id", "token", "asset", "token_a", "token_b")} & HAZARD_TOKENS)

    party = {s.get("from", s.get("to")) for s in zoo["steps"] if hazardous(s)}
    steps = [s for s in zoo["steps"] if not hazardous(s) and not (s["action"].endswith(".borrow") and s.get("from") in party)]
    reserves = [r for r in zoo["aave"]["reserves"] if not hazardous(r)]
    pools = [p for p in zoo["uniswap"]["pools"] if not hazardous(p)]
    kept_pools = {p["id"] for p in pools}
    return {
        "name": "mainnet-zoo-sane",
        "description": "mainnet-zoo without its hazards (tests/protocols/test_mainnet_zoo_sane.py)",
        "steps": [s for s in steps if s.get("pool", next(iter(kept_pools))) in kept_pools],
        "tokens": [t for t in zoo["tokens"] if not hazardous(t)],
        "feeds": [f for f in zoo["feeds"] if f["id"] in {r["source"] for r in reserves}],
        "aave": {"reserves": reserves},
        "uniswap": {"pools": pools},
    }


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string with ASCII escapes is a TOML basic string
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[\n" + "".join(f"  {_toml_value(x)},\n" for x in v) + "]"
    raise TypeError(f"no TOML for {v!r}")


def to_toml(scenario: dict) -> str:
    """A scenario as TOML: top-level values, then arrays of tables (`[[tokens]]`, `[[aave.reserves]]`)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in scenario.items() if isinstance(v, str) or k == "steps"]
    for k, v in scenario.items():
        sections = [(k, v)] if isinstance(v, list) and k != "steps" else list(v.items()) if isinstance(v, dict) else []
        for sub, tables in sections:
            name = sub if sub == k else f"{k}.{sub}"
            for table in tables:
                lines += ["", f"[[{name}]]", *(f"{a} = {_toml_value(b)}" for a, b in table.items())]
    return "\n".join(lines) + "\n"


def _names(net) -> dict[str, str]:
    """Each address the devnet's manifest knows, by its role (`token:WETH`, `WETH.a_token`, ...)."""
    m = net.manifest
    names = {a.lower(): f"contract:{k}" for k, a in m["contracts"].items()}
    names |= {a.lower(): f"account:{k}" for k, a in m["accounts"].items()}
    for kind in ("tokens", "feeds", "uniswap_pools"):
        names |= {e["address"].lower(): f"{kind}:{k}" for k, e in m[kind].items()}
    pool = aave_pool(net)
    for k, r in m["aave_reserves"].items():
        names |= {r[role].lower(): f"{k}.{role}" for role in ("a_token", "stable_debt_token", "variable_debt_token")}
        # Not in the manifest: the reserve's rate strategy, as the pool names it (ReserveData field 11).
        names[pool.functions.getReserveData(r["asset"]).call()[11].lower()] = f"{k}.interest_rate_strategy"
    return names


def _by_role(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """`frame` without the history columns, every known address replaced by its role, rows sorted."""
    named = frame.drop(columns=[c for c in HISTORY_COLUMNS if c in frame.columns])
    named = named.apply(lambda col: col.map(lambda v: names.get(v, v) if isinstance(v, str) else v))
    return named.astype(str).sort_values(list(named.columns)).reset_index(drop=True)


def _sane(snap, names: dict[str, str]) -> tuple[set[str], set[str]]:
    """The reserves and pools no hazard touches, by address (see the module docstring)."""
    hazard = {a for a, n in names.items() if n.split(":")[-1] in HAZARD_TOKENS and n.startswith("tokens:")}
    risky = set(snap.positions.loc[snap.positions["market_id"].isin(hazard), "account"])
    lent_to = snap.positions[snap.positions["account"].isin(risky) & (snap.positions["debt_amount"].astype(object) > 0)]
    reserves = set(snap.markets["market_id"]) - hazard - set(lent_to["market_id"])
    pools = {p.pool for p in snap.pools.itertuples() if not {p.token0, p.token1} & hazard}
    return reserves, pools


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A devnet seeded from mainnet-zoo without its hazards; tests here only read it."""
    zoo = tomllib.loads(scenario_path("mainnet-zoo").read_text())
    path = tmp_path_factory.mktemp("scenario") / "mainnet-zoo-sane.toml"
    path.write_text(to_toml(without_hazards(zoo)))
    with devnet.start(path) as net:
        yield net


async def test_the_sane_markets_read_as_on_a_chain_without_the_hazards(mainnet_zoo, clean):
    zoo_names, clean_names = _names(mainnet_zoo), _names(clean)
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
        ours = _by_role(ours[ours[column].isin(keys)], zoo_names)
        theirs = _by_role(getattr(clean_snap, table), clean_names)
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

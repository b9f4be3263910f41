"""mainnet-zoo without some of its hazards, seeded on a devnet of its own, and the two chains'
rows compared by role (tests/protocols/test_mainnet_zoo_sane.py, test_zoo.py).

The zoo's hazards (fixtures/scenarios/mainnet-zoo.toml's header): frozen, paused, isolated,
siloed, stable-rate, fee-on-transfer and rebasing reserves and the pools they are in; tokens with
odd metadata; and every Morpho market of the zoo (each on an odd token, an oracle that cannot
answer, or idle), with the code its oracles are.
"""

from __future__ import annotations

import json
import tomllib
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from devnet_helpers import aave_pool

from loopscan import devnet
from loopscan.devnet.scenario import scenario_path

# Mainnet's odd token metadata: bytes32, none, decimals 0/24/77, a reverting decimals(), markup.
ODD_TOKENS = frozenset({"MKR", "NOMETA", "RDEC", "D0", "D24", "D77", "MARKUP"})
HAZARD_TOKENS = frozenset({"FRZ", "PAU", "ISO", "SIL", "STB", "FOT", "REB"}) | ODD_TOKENS
# What differs between two chains however they are read: the block read, and when a reserve
# was last touched (the clean chain has fewer transactions before it).
HISTORY_COLUMNS = ("block", "last_update")


def without_hazards(zoo: dict, tokens: frozenset[str] = HAZARD_TOKENS, name: str = "mainnet-zoo-sane") -> dict:
    """The zoo's scenario without `tokens` and everything that names one, nor the borrowing of
    an account that took part in a hazard (its debt rests on it); without its Morpho markets and
    the code their oracles are (all hazards), and without its events."""

    def hazardous(entry: dict) -> bool:
        return bool({entry.get(k) for k in ("id", "token", "asset", "token_a", "token_b")} & tokens)

    party = {s.get("from", s.get("to")) for s in zoo["steps"] if hazardous(s)}
    steps = [s for s in zoo["steps"] if not hazardous(s) and not (s["action"].endswith(".borrow") and s.get("from") in party)]
    reserves = [r for r in zoo["aave"]["reserves"] if not hazardous(r)]
    pools = [p for p in zoo["uniswap"]["pools"] if not hazardous(p)]
    kept_pools = {p["id"] for p in pools}
    return {
        "name": name,
        "description": f"mainnet-zoo without the hazards of {', '.join(sorted(tokens))} and its Morpho markets (tests/zoo_helpers.py)",
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


@contextmanager
def zoo_without(folder: Path, tokens: frozenset[str] = HAZARD_TOKENS, name: str = "mainnet-zoo-sane"):
    """A devnet seeded from mainnet-zoo `without_hazards(…, tokens)` (its file written in `folder`)."""
    zoo = tomllib.loads(scenario_path("mainnet-zoo").read_text())
    path = folder / f"{name}.toml"
    path.write_text(to_toml(without_hazards(zoo, tokens, name)))
    with devnet.start(path) as net:
        yield net


def names(net) -> dict[str, str]:
    """Each address the devnet's manifest knows, by its role (`token:WETH`, `WETH.a_token`, ...)."""
    m = net.manifest
    found = {a.lower(): f"contract:{k}" for k, a in m["contracts"].items()}
    found |= {a.lower(): f"account:{k}" for k, a in m["accounts"].items()}
    found |= {a.lower(): f"code:{k}" for k, a in m["code"].items()}
    found |= {e["id"]: f"morpho_markets:{k}" for k, e in m["morpho_markets"].items()}
    for kind in ("tokens", "feeds", "uniswap_pools", "morpho_oracles"):
        found |= {e["address"].lower(): f"{kind}:{k}" for k, e in m[kind].items()}
    pool = aave_pool(net)
    for k, r in m["aave_reserves"].items():
        found |= {r[role].lower(): f"{k}.{role}" for role in ("a_token", "stable_debt_token", "variable_debt_token")}
        # Not in the manifest: the reserve's rate strategy, as the pool names it (ReserveData field 11).
        found[pool.functions.getReserveData(r["asset"]).call()[11].lower()] = f"{k}.interest_rate_strategy"
    return found


def by_role(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """`frame` without the history columns, every known address replaced by its role, rows sorted."""
    named = frame.drop(columns=[c for c in HISTORY_COLUMNS if c in frame.columns])
    named = named.apply(lambda col: col.map(lambda v: names.get(v, v) if isinstance(v, str) else v))
    return named.astype(str).sort_values(list(named.columns)).reset_index(drop=True)

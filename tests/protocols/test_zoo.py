"""The token and Morpho-oracle hazards of mainnet on the real Morpho Blue: the scan completes,
each hazard is a named `missing` row or read as it is, and the sane market's thresholds are
those of the same block on a chain without the hazards.

The zoo is built on `minimal` as mainnet builds it, with real transactions: tokens with
`bytes32` metadata (contracts/zoo), without `symbol()`/`name()`, with decimals 0, 24 and 77,
with a reverting `decimals()`, with markup and control characters in their names; Morpho
markets (permissionless `createMarket`) on each of them, and on oracles without code, that
revert, that answer a 16-byte word, or a price of 0; and an idle market (oracle, IRM and LLTV
all zero, as Morpho's owner enabled on mainnet).
"""

from __future__ import annotations

import pandas as pd
import pytest
from devnet_helpers import morpho
from eth_utils import to_checksum_address

from loopscan.chains import from_devnet_manifest
from loopscan.devnet.build import Artifacts
from loopscan.model.views import market_collateral
from loopscan.result import analyse
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet

ZERO = "0x" + "00" * 20
MARKUP = "<script>alert(1)</script>\x1b[31mRED\x07\u202e"
NO_DATA = "answered no data (no code at that address, or a fallback)"
ORACLES = {  # address -> runtime code (PUSH1 n, PUSH0, RETURN / REVERT)
    "0x00000000000000000000000000000000000a0001": None,  # no code at all
    "0x00000000000000000000000000000000000a0002": "0x5f5ffd",  # revert(0, 0)
    "0x00000000000000000000000000000000000a0003": "0x60105ff3",  # 16 bytes
    "0x00000000000000000000000000000000000a0004": "0x60205ff3",  # one zero word: price 0
}


def _build_zoo(net) -> dict[str, str]:
    """Deploy the hazards; returns their addresses by name. Mines one block per transaction."""
    chain, art = net.chain, Artifacts()
    creator = chain.account("zoo-creator")
    tokens = {
        "bytes32": chain.deploy(art.compiled("loopscan", "Bytes32MetadataToken"), b"MKR".ljust(32, b"\0"),
                                b"Maker".ljust(32, b"\0"), 18, sender=creator),  # fmt: skip
        "no metadata": chain.deploy(art.compiled("loopscan", "NoMetadataToken"), 18, sender=creator),
        "reverting decimals": chain.deploy(art.compiled("loopscan", "RevertingDecimalsToken"), sender=creator),
    }
    scenario_token = art.compiled("loopscan", "ScenarioToken")
    for decimals in (0, 24, 77):
        tokens[f"decimals {decimals}"] = chain.deploy(scenario_token, f"Decimals {decimals}", f"D{decimals}", decimals,
                                                      sender=creator)  # fmt: skip
    tokens["markup"] = chain.deploy(scenario_token, MARKUP, "<b>X</b>\r\n", 18, sender=creator)
    for address, code in ORACLES.items():
        if code:
            net.node.rpc("anvil_setCode", [address, code])

    m = morpho(net)
    (sane,) = net.manifest["morpho_markets"].values()
    usdc, weth = net.manifest["tokens"]["USDC"]["address"], net.manifest["tokens"]["WETH"]["address"]
    lltv = int(sane["lltv"])
    params = [(usdc, t.address, sane["oracle"], sane["irm"], lltv) for t in tokens.values()]
    params += [(usdc, weth, to_checksum_address(oracle), sane["irm"], lltv) for oracle in ORACLES]
    params.append((usdc, weth, ZERO, ZERO, 0))  # idle
    chain.send(m.functions.enableLltv(0), chain.account("morpho-owner"), "Morpho.enableLltv(0)")
    for p in params:
        chain.send(m.functions.createMarket(p), creator, "Morpho.createMarket")
    return {name: t.address.lower() for name, t in tokens.items()}


async def test_the_zoo_scan_completes_with_named_misses_and_the_sane_thresholds_unchanged(minimal):
    net = minimal
    deployments = from_devnet_manifest(net.manifest)
    start = net.node.rpc("evm_snapshot", [])
    zoo = _build_zoo(net)
    head = net.chain.block()
    snap = await index_async(net.url, deployments=deployments, block=head["number"])
    net.node.rpc("evm_revert", [start])
    for _ in range(head["number"] - net.chain.block()["number"]):
        net.node.rpc("evm_mine", [])
    assert net.chain.block()["timestamp"] == head["timestamp"]
    clean = await index_async(net.url, deployments=deployments, block=head["number"])

    # Every hazard that cannot be read is one named row; nothing else is missing.
    misses = sorted((m["kind"], m["address"], m["method"], m["reason"]) for m in snap.missing.to_dict("records"))
    oracles = sorted(ORACLES)
    assert misses == sorted([
        ("oracle", oracles[0], "price()", NO_DATA),
        ("oracle", oracles[1], "price()", "reverted without data"),
        ("oracle", oracles[2], "price()", "answered 16 bytes, short of the 32 expected"),
        ("token", zoo["reverting decimals"], "decimals()", "decimals unavailable"),
    ])  # fmt: skip

    # The rest is read as it is.
    tokens = snap.tokens.set_index("address")
    assert (tokens.loc[zoo["bytes32"], "symbol"], tokens.loc[zoo["bytes32"], "name"]) == ("MKR", "Maker")
    assert pd.isna(tokens.loc[zoo["no metadata"], "symbol"]) and pd.isna(tokens.loc[zoo["no metadata"], "name"])
    assert [tokens.loc[zoo[f"decimals {d}"], "decimals"] for d in (0, 24, 77)] == [0, 24, 77]
    assert tokens.loc[zoo["markup"], "name"] == MARKUP  # stored as read; escaping is the output's job
    assert zoo["reverting decimals"] not in tokens.index
    joined = market_collateral(snap)
    markets = joined.set_index("oracle", drop=False)
    assert markets.loc[oracles[3], "oracle_price_raw"] == 0
    # The idle market has no oracle; its LLTV 0 is a Morpho field of its own, in market_params.
    idle = joined[joined["oracle"].isna()]
    params = snap.market_params.set_index(["market_id", "param"])["value"]
    assert len(idle) == 1 and params[idle.iloc[0]["market_id"], "lltv_wad"] == 0
    assert len(snap.markets) == len(clean.markets) + len(zoo) + len(ORACLES) + 1

    # The sane market, its positions and the thresholds are those of the chain without the zoo.
    key = ["market_id", "account"]
    assert_same = lambda a, b: pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))  # noqa: E731
    assert_same(snap.positions.sort_values(key), clean.positions.sort_values(key))
    base = analyse(clean).thresholds
    zoo_result = analyse(snap).thresholds
    cols = ["shock", "token", "first_liquidation_frac", "cascade_frac", "bad_debt_frac"]
    assert_same(zoo_result[zoo_result["token"].isin(base["token"])][cols], base[cols])
    assert base["first_liquidation_frac"].notna().any()

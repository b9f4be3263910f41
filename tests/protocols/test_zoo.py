"""The token and Morpho-oracle hazards of mainnet on the real Morpho Blue: the scan completes,
each hazard is a named `missing` row or read as it is, and the thresholds are those of the same
chain without these hazards.

The zoo is `mainnet-zoo` (fixtures/scenarios/mainnet-zoo.toml), seeded with real transactions:
tokens with `bytes32` metadata (contracts/zoo), without `symbol()`/`name()`, with decimals 0, 24
and 77, with a reverting `decimals()`, with markup and control characters in their names; Morpho
markets (permissionless `createMarket`) on each of them, and on oracles without code, that
revert, that answer a 16-byte word, or a price of 0 (code placed at fixed addresses, the
scenario's `[[code]]`); and an idle market (oracle, IRM and LLTV all zero, as Morpho's owner
enabled on mainnet). The clean chain is the zoo without them (`zoo_helpers.without_hazards` with
the odd tokens only: its Aave and Uniswap hazards stay), seeded on its own devnet.
"""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console
from scan_helpers import seeded_snapshot
from zoo_helpers import ODD_TOKENS, by_role, names, zoo_without

from loopscan.model.views import market_collateral
from loopscan.report.scan_summary import print_scan_summary
from loopscan.result import analyse

pytestmark = pytest.mark.devnet

MARKUP = "<script>alert(1)</script>\x1b[31mRED\x07\u202e"  # MARKUP's name, as the scenario sets it
NO_DATA = "answered no data (no code at that address, or a fallback)"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """mainnet-zoo without its odd tokens and Morpho markets; tests here only read it."""
    with zoo_without(tmp_path_factory.mktemp("scenario"), ODD_TOKENS, "mainnet-zoo-without-morpho") as net:
        yield net


async def test_the_zoo_scan_completes_with_named_misses_and_the_thresholds_unchanged(mainnet_zoo, clean):
    net = mainnet_zoo
    snap, clean_snap = await seeded_snapshot(net), await seeded_snapshot(clean)
    zoo = {t: net.manifest["tokens"][t]["address"].lower() for t in ODD_TOKENS}
    code = {c: a.lower() for c, a in net.manifest["code"].items()}

    # Every hazard that cannot be read is one named row; nothing else is missing.
    misses = sorted((m["kind"], m["address"], m["method"], m["reason"]) for m in snap.missing.to_dict("records"))
    assert misses == sorted([
        ("oracle", code["no-code"], "price()", NO_DATA),
        ("oracle", code["reverts"], "price()", "reverted without data"),
        ("oracle", code["16-bytes"], "price()", "answered 16 bytes, short of the 32 expected"),
        ("token", zoo["RDEC"], "decimals()", "decimals unavailable"),
    ])  # fmt: skip
    assert clean_snap.missing.empty
    console = Console(record=True, width=200)
    print_scan_summary(console, snap, 0.1)
    shown = console.export_text()
    assert "missing: 4 read(s) failed" in shown
    rows = [line for line in shown.splitlines() if "…" in line]
    for kind, address, method, reason in misses:  # each failed read named on the terminal, one row each
        assert any(kind in r and f"{address[:6]}…{address[-4:]}" in r and method in r and reason in r for r in rows)

    # The rest is read as it is.
    tokens = snap.tokens.set_index("address")
    assert (tokens.loc[zoo["MKR"], "symbol"], tokens.loc[zoo["MKR"], "name"]) == ("MKR", "Maker")
    assert pd.isna(tokens.loc[zoo["NOMETA"], "symbol"]) and pd.isna(tokens.loc[zoo["NOMETA"], "name"])
    assert [tokens.loc[zoo[f"D{d}"], "decimals"] for d in (0, 24, 77)] == [0, 24, 77]
    assert (tokens.loc[zoo["MARKUP"], "name"], tokens.loc[zoo["MARKUP"], "symbol"]) == (MARKUP, "<b>X</b>\r\n")
    assert zoo["RDEC"] not in tokens.index  # stored as read; escaping is the output's job (below)
    joined = market_collateral(snap)
    markets = joined.set_index("oracle", drop=False)
    assert markets.loc[code["price-0"], "oracle_price_raw"] == 0
    # The idle market has no oracle; its LLTV 0 is a Morpho field of its own, in market_params.
    idle = joined[joined["oracle"].isna()]
    params = snap.market_params.set_index(["market_id", "param"])["value"]
    assert len(idle) == 1 and params[idle.iloc[0]["market_id"], "lltv_wad"] == 0
    assert len(snap.markets) == len(clean_snap.markets) + len(zoo) + len(code) + 1
    assert len(net.manifest["morpho_markets"]) == len(zoo) + len(code) + 1

    # The positions and the thresholds are those of the chain without these hazards (by role:
    # the two chains deploy in a different order, so a contract's address differs).
    zoo_names, clean_names = names(net), names(clean)
    pd.testing.assert_frame_equal(by_role(snap.positions, zoo_names), by_role(clean_snap.positions, clean_names))
    cols = ["shock", "token", "first_liquidation_frac", "cascade_frac", "bad_debt_frac"]
    base = by_role(analyse(clean_snap).thresholds[cols], clean_names)
    ours = by_role(analyse(snap).thresholds[cols], zoo_names)
    pd.testing.assert_frame_equal(ours[ours["token"].isin(base["token"])].reset_index(drop=True), base)
    assert base["first_liquidation_frac"].ne("nan").any()


async def test_the_odd_symbols_reach_the_page_escaped(mainnet_zoo, tmp_path):
    """The page draws every token the scan read, MARKUP's node too: its symbol's markup and
    control characters as inert text (`<` as \\u003c, CR LF as the escape `\\x0d\\x0a`)."""
    page = analyse(await seeded_snapshot(mainnet_zoo)).export(tmp_path / "html", "html").read_text(encoding="utf-8")
    markup = mainnet_zoo.manifest["tokens"]["MARKUP"]["address"].lower()
    node = f'"id":"token:{markup}","kind":"base","label":"\\u003cb\\u003eX\\u003c/b\\u003e\\\\x0d\\\\x0a"'
    assert node in page
    assert not [c for c in ("<b>X", "<script>alert", "\r", "\x1b", "\x07", "\u202e") if c in page]

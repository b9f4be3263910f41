"""The risk graph as GraphML, GEXF, node-link JSON and DOT: what is written reads back the same.

Two inputs: the stream-2025 devnet, indexed once for this module (the figures come from
fixtures/scenarios/stream-2025.toml: xUSD reports 253.34M USDC of assets, cpUSDC has 120M shares
of 18 decimals, beyond 64 bits), and a tiny literal pyramid whose token symbols are hostile:

    B  base token                      V  vault share, symbol `x"y<newline>z<img …>\\`
    V  erc4626 on B: 1000 reported, 250 of B seen        (base 0.25, opaque 0.75, depth 1)
    S  backed stablecoin on B: 100 B + 400 lent on M     (base 0.55, opaque 0.45, depth 2)
    M  Morpho market V/B, LLTV 86 %: 400 supplied by S, 300 borrowed by A against 600 V
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from literal_snapshots import MORPHO, M, holding, market, position, snapshot, token, vault

import loopscan
import loopscan.export
from loopscan.errors import LoopscanError
from loopscan.export import FORMATS, ExportError, annotated_graph, export
from loopscan.graph.build import market_node, token_node, vault_node
from loopscan.result import ScanResult, analyse

B, V, S, A = ("0x" + c * 40 for c in "bcda")
EVIL = 'x"y\nz<img src=x onerror=alert(1)>\\'  # a quote, a line break, markup, a trailing backslash
ANSI = "\x1b[31mS\x00"  # characters XML 1.0 cannot hold












@pytest.fixture(scope="module")
def pyramid() -> ScanResult:
    market_row = market(V, B, 400, 300)
    return analyse(
        snapshot(
            {
                "tokens": [token(B, "B"), token(V, EVIL, "vault_share"), token(S, ANSI)],
                "vaults": [vault(V, B, "erc4626", 1000, 250), {**vault(S, B, "erc4626", 500, 500), "kind": "backed_stablecoin"}],
                "markets": [market_row],
                "positions": [position(A, V, 600, 300, 0), position(S, V, 0, 0, 400)],
                "holdings": [holding(V, B, 250), holding(S, B, 100), holding(S, B, 400, M)],
            }
        )
    )


def _is_missing(value) -> bool:
    return value is None or pd.isna(value)


def test_exported_names_and_formats():
    assert loopscan.export.__all__ == ["FORMATS", "ExportError", "annotated_graph", "export"]
    assert FORMATS == ("graphml", "gexf", "json", "dot", "html", "csv", "parquet")


def test_unknown_format_is_a_loopscan_error_naming_the_known_ones(pyramid, tmp_path):
    with pytest.raises(ExportError) as info:
        export(pyramid, tmp_path / "out", "xlsx")
    assert isinstance(info.value, LoopscanError)
    assert "'xlsx'" in str(info.value)
    assert all(fmt in str(info.value) for fmt in FORMATS)
    assert not (tmp_path / "out").exists()  # nothing written for a format it refused


def test_html_is_delegated_lazily(pyramid, tmp_path, monkeypatch):
    # `import loopscan.export` must not load the page module ...
    code = "import sys, loopscan.export; print('loopscan.export.html' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
    # ... and fmt "html" hands the result and the fixed file name to its write_html.
    calls = []
    fake = type(sys)("loopscan.export.html")
    fake.write_html = lambda result, path: calls.append((result, path)) or path
    monkeypatch.setitem(sys.modules, "loopscan.export.html", fake)
    written = export(pyramid, tmp_path / "new" / "dir", "html")
    assert written == tmp_path / "new" / "dir" / "risk-graph.html"
    assert calls == [(pyramid, written)]


def test_annotated_graph_by_hand(pyramid):
    g = annotated_graph(pyramid)
    assert set(g) == set(pyramid.graph) and g.number_of_edges() == pyramid.graph.number_of_edges()
    v = g.nodes[vault_node(V)]
    assert (v["symbol"], v["label"], v["depth"], v["base"]) == (EVIL, EVIL + " vault", 1, B)
    assert v["base_fraction"] == pytest.approx(0.25) and v["opaque_fraction"] == pytest.approx(0.75)
    assert v["multiplier"] == pytest.approx(4.0)  # 1000 of V on 250 of B
    assert (v["total_assets"], v["visible_assets"], v["opaque_assets"]) == ("1000", "250", "750")
    s = g.nodes[vault_node(S)]
    assert (s["depth"], s["base_fraction"], s["opaque_fraction"]) == (2, pytest.approx(0.55), pytest.approx(0.45))
    assert g.nodes[market_node(MORPHO, M)]["label"] == f"{EVIL}/B 86%"
    assert g.nodes[market_node(MORPHO, M)]["total_borrow"] == "300"
    t = g.nodes[token_node(V)]
    depeg = pyramid.thresholds.set_index("shock").loc["depeg"]
    loss = pyramid.thresholds.set_index("shock").loc["backing_loss"]
    for name in ("first_liquidation_frac", "cascade_frac", "bad_debt_frac"):
        for prefix, row in (("", depeg), ("backing_loss_", loss)):
            if _is_missing(row[name]):
                assert prefix + name not in t  # a threshold never reached is left out, not NaN
            else:
                assert t[prefix + name] == float(row[name]) and type(t[prefix + name]) is float
    # V has no pool: what its liquidations sell moves no price loopscan read, so δ_c and δ_bd of its
    # depeg are not computable (left out), while its backing loss is redeemed at book and solved.
    assert "cascade_frac" not in t and "bad_debt_frac" not in t and 0 < t["first_liquidation_frac"] < 1
    assert depeg["not_computable"].startswith("cascade, bad_debt, bad_debt_at_100pct: no pool read to sell")
    assert 0 < t["backing_loss_first_liquidation_frac"] < t["backing_loss_bad_debt_frac"] < 1
    assert t["positions_at_risk"] == 1 and type(t["positions_at_risk"]) is int
    assert not any(k.endswith("_frac") for k in g.nodes[token_node(B)])  # not shockable: no thresholds
    edges = {(u, w, d["kind"]): d for u, w, d in g.edges(data=True)}
    assert edges[(market_node(MORPHO, M), "account:" + A, "borrows")]["amount"] == "300"
    assert edges[(market_node(MORPHO, M), "account:" + A, "borrows")]["amount_tokens"] == 300.0
    assert all(x is not None and x == x for _, d in g.nodes(data=True) for x in d.values())


def _expected_edges(result: ScanResult) -> Counter:
    return Counter(
        (u, v, d["kind"], str(d["amount"]) if "amount" in d else None) for u, v, d in result.graph.edges(data=True)
    )


def _read(fmt: str, path: Path) -> nx.Graph:
    return nx.read_graphml(path, force_multigraph=True) if fmt == "graphml" else nx.read_gexf(path)


def _declared_types(fmt: str, path: Path) -> dict[tuple[str, str], str]:
    """(scope, attribute) -> the type the file declares for it."""
    root = ET.parse(path).getroot()
    if fmt == "graphml":
        keys = root.iter("{http://graphml.graphdrawing.org/xmlns}key")
        return {(k.get("for"), k.get("attr.name")): k.get("attr.type") for k in keys}
    out = {}
    for block in root.iter("{http://www.gexf.net/1.2draft}attributes"):
        for a in block:
            out[(block.get("class"), a.get("title"))] = a.get("type")
    return out


@pytest.mark.devnet
@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_stream_round_trips_through_gephi_formats(stream_result, tmp_path, fmt):
    snap = stream_result.snapshot
    path = export(stream_result, tmp_path, fmt)
    assert path == tmp_path / f"risk-graph.{fmt}"
    g = _read(fmt, path)
    assert set(g) == set(stream_result.graph)
    # 34 of Morpho, MetaMorpho and the vaults; 13 of Gearbox: 3 collaterals secure its market, it lends
    # USDC, its pool supplies it, 3 accounts post collateral and borrow, and the pool is a vault the
    # market backs, issuing dUSDCV3
    assert g.number_of_edges() == stream_result.graph.number_of_edges() == 47
    assert Counter((u, v, d["kind"], d.get("amount")) for u, v, d in g.edges(data=True)) == _expected_edges(
        stream_result
    )
    # token nodes: kind and symbol as strings, thresholds as the solver's floats
    for t in snap.tokens.itertuples():
        node = g.nodes[token_node(t.address)]
        assert (node["kind"], node["symbol"], node["decimals"]) == ("token", t.symbol, t.decimals)
    assert len(stream_result.thresholds) == 3  # sdeUSD and xUSD depegs, xUSD backing loss
    for row in stream_result.thresholds.itertuples():
        node = g.nodes[token_node(row.token)]
        prefix = "" if row.shock == "depeg" else "backing_loss_"
        for name in ("first_liquidation_frac", "cascade_frac", "bad_debt_frac"):
            value = getattr(row, name)
            assert (prefix + name not in node) if _is_missing(value) else node[prefix + name] == float(value)
    # vault nodes: uint256 amounts as decimal strings equal to the snapshot's ints
    for v in snap.vaults.itertuples():
        node = g.nodes[vault_node(v.vault)]
        for name in ("total_assets", "total_supply", "visible_assets", "opaque_assets"):
            assert node[name] == str(getattr(v, name))
    xusd = snap.tokens.set_index("symbol").loc["xUSD", "address"]
    cpusdc = snap.tokens.set_index("symbol").loc["cpUSDC", "address"]
    assert g.nodes[vault_node(xusd)]["total_assets"] == "253340000000000"  # 253.34M USDC, 6 decimals
    assert g.nodes[vault_node(cpusdc)]["total_supply"] == "120000000000000000000000000"  # > 2**64
    summary = stream_result.vaults.set_index("vault")
    assert g.nodes[vault_node(xusd)]["opaque_fraction"] == summary.loc[xusd, "opaque_fraction"]
    assert g.nodes[vault_node(xusd)]["depth"] == 1
    # what Gephi will see as column types
    types = _declared_types(fmt, path)
    for scope, name in (("node", "kind"), ("node", "symbol"), ("node", "total_assets"), ("edge", "amount")):
        assert types[(scope, name)] == "string"
    for name in ("first_liquidation_frac", "bad_debt_frac", "base_fraction", "multiplier"):
        assert types[("node", name)] == "double"
    assert types[("node", "depth")] in ("long", "integer")


@pytest.mark.devnet
def test_stream_node_link_json(stream_result, stream_session, tmp_path):
    path = export(stream_result, tmp_path, "json")
    assert path == tmp_path / "risk-graph.json"
    with path.open() as f:
        data = json.load(f)
    manifest = stream_session.manifest
    assert {k: data["meta"][k] for k in ("chain_id", "block", "block_hash", "loopscan_version")} == {
        "chain_id": manifest["chain_id"], "block": manifest["block"], "block_hash": manifest["block_hash"],
        "loopscan_version": loopscan.__version__,
    }  # fmt: skip
    g = nx.node_link_graph(data, edges="links")
    assert g.is_directed() and g.is_multigraph()
    assert set(g) == set(stream_result.graph)
    assert Counter((u, v, d["kind"], d.get("amount")) for u, v, d in g.edges(data=True)) == _expected_edges(
        stream_result
    )
    assert dict(g.nodes(data=True)) == dict(annotated_graph(stream_result).nodes(data=True))


# DOT statements as write_dot lays them out, one per line; a quoted string may not hold a raw newline.
_Q = r'"(?:[^"\\\n]|\\.)*"'
_ATTRS = rf"\w+=(?:{_Q}|[\w.]+)(?:, \w+=(?:{_Q}|[\w.]+))*"
_NODE = re.compile(rf"  ({_Q}) \[({_ATTRS})\];")
_EDGE = re.compile(rf"  ({_Q}) -> ({_Q}) \[({_ATTRS})\];")
_HEAD = {"digraph loopscan {", "  node [fontsize=10];", "  edge [fontsize=8];", "}"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _attrs(text: str) -> dict[str, str]:
    return {k: _unquote(v) if v.startswith('"') else v for k, v in re.findall(rf"(\w+)=({_Q}|[\w.]+)", text)}


def _parse_dot(text: str) -> tuple[dict[str, dict], list[tuple[str, str, dict]]]:
    nodes, edges = {}, []
    for line in text.splitlines():
        if (m := _EDGE.fullmatch(line)) is not None:
            edges.append((_unquote(m[1]), _unquote(m[2]), _attrs(m[3])))
        elif (m := _NODE.fullmatch(line)) is not None:
            nodes[_unquote(m[1])] = _attrs(m[2])
        else:
            assert line in _HEAD or line.startswith("  graph [label="), f"not a whole DOT statement: {line!r}"
    return nodes, edges


@pytest.mark.devnet
def test_stream_dot_has_every_node_and_edge(stream_result, tmp_path):
    path = export(stream_result, tmp_path, "dot")
    assert path == tmp_path / "risk-graph.dot"
    nodes, edges = _parse_dot(path.read_text())
    g = stream_result.graph
    assert set(nodes) == set(g)
    assert Counter((u, v, a["label"]) for u, v, a in edges) == Counter(
        (u, v, d["kind"]) for u, v, d in g.edges(data=True)
    )
    shapes = {"token": "ellipse", "vault": "box", "market": "diamond", "account": "circle", "opaque": "octagon"}
    assert all(nodes[n]["shape"] == shapes[d["kind"]] for n, d in g.nodes(data=True))
    labels = sorted(a["label"] for n, a in nodes.items() if n.startswith("market:"))
    assert labels == ["USDC gearbox", "sdeUSD/USDC 86%", "sdeUSD/USDC 91.5%", "xUSD/USDC 86%", "xUSD/USDC 91.5%"]


def test_dot_escapes_hostile_symbols(pyramid, tmp_path):
    text = export(pyramid, tmp_path, "dot").read_text()
    nodes, edges = _parse_dot(text)  # every line a whole statement: no quote or newline broke out
    assert set(nodes) == set(pyramid.graph) and len(edges) == pyramid.graph.number_of_edges()
    assert "label=<" not in text  # never an HTML-like label: markup in a symbol stays text
    # quote and trailing backslash escaped, the line break shown as \x0a (as the CLI shows it)
    assert '[label="x\\"y\\\\x0az<img src=x onerror=alert(1)>\\\\", shape=ellipse' in text
    assert nodes[token_node(V)]["label"] == 'x"y\\x0az<img src=x onerror=alert(1)>\\'
    assert nodes[token_node(S)]["label"] == "\\x1b[31mS\\x00"



@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_gephi_formats_hold_hostile_symbols(pyramid, tmp_path, fmt):
    g = _read(fmt, export(pyramid, tmp_path, fmt))
    assert g.nodes[token_node(V)]["symbol"] == EVIL  # XML escapes quote and markup itself
    assert g.nodes[token_node(S)]["symbol"] == "\\x1b[31mS\\x00"  # ESC and NUL are not XML: shown as escapes
    assert "first_liquidation_frac" in g.nodes[token_node(V)] and "cascade_frac" not in g.nodes[token_node(V)]


def test_json_keeps_symbols_exact_and_is_strict(pyramid, tmp_path):
    text = export(pyramid, tmp_path, "json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes[token_node(V)]["symbol"] == EVIL and nodes[token_node(S)]["symbol"] == ANSI
    assert data["meta"]["chain_id"] == 1 and data["meta"]["block"] == 10

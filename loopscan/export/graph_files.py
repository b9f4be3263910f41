"""The risk graph as files for Gephi, Graphviz and JavaScript: GraphML, GEXF, node-link JSON, DOT.

`annotated_graph(result)` is `result.graph` (see `loopscan.graph.build`) plus what the solver and
the look-through found, with every attribute typed so Gephi gets usable columns:

=========  =============================================================================
node kind  attributes added
=========  =============================================================================
token      `first_liquidation_frac`, `cascade_frac`, `bad_debt_frac` (depeg of the token),
           `positions_at_risk`, `bad_debt_at_100pct_usd`, `liquidatable_now`, `bad_debt_now_usd`
           (further shocks from the state at the pin; see `solver.thresholds`); the same prefixed `backing_loss_`
           for a vault share whose backing can be written down
vault      `symbol` (its share token's), `base`, `base_symbol`, `base_fraction`,
           `opaque_fraction`, `depth`, `multiplier`
any        `label`: a short display name (`xUSD`, `xUSD vault`, `xUSD/USDC 86%`, `0x1234…abcd`)
=========  =============================================================================

Edges get `label` (= `kind`) and, where the token's decimals are known, `amount_tokens`
(`amount` in whole tokens, a float for sizing; `amount` itself stays exact).

Typing: kinds, symbols, addresses and ids are strings; **every integer is a raw token amount
(uint256 / int256, beyond 64 bits) and is written as its exact decimal string**, except the small
counts in `SMALL_INTS`, which stay integers; thresholds, fractions and USD values are floats. An
unknown value is left out, never written as a sentinel: None, NaN and ±inf are dropped, so a
threshold the solver never reaches (None) is an absent attribute.

    >>> g = annotated_graph(result)                                        # doctest: +SKIP
    >>> g.nodes["token:0xf90d…"]["first_liquidation_frac"], g.nodes["vault:0xf90d…"]["total_assets"]  # doctest: +SKIP
    (0.125703, '253340000000000')
"""

from __future__ import annotations

import json
import math
import numbers
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

import loopscan
from loopscan.graph.build import market_node, token_node, vault_node
from loopscan.textsafe import terminal_safe

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = ["SMALL_INTS", "annotated_graph", "graph_meta", "write_graphml", "write_gexf", "write_json", "write_dot"]

SMALL_INTS = frozenset(
    {"decimals", "depth", "positions_at_risk", "backing_loss_positions_at_risk", "liquidatable_now", "backing_loss_liquidatable_now",
     "chain_id", "block", "block_timestamp"}
)
"""Integer attributes that are counts or small numbers, not token amounts: they stay integers."""

_THRESHOLDS = ("first_liquidation_frac", "cascade_frac", "bad_debt_frac", "positions_at_risk", "bad_debt_at_100pct_usd",
               "liquidatable_now", "bad_debt_now_usd")
_VAULT_SUMMARY = ("base", "base_symbol", "base_fraction", "opaque_fraction", "depth", "multiplier")
_SHOCK_PREFIX = {"depeg": "", "backing_loss": "backing_loss_"}


def _typed(name: str, value: object) -> str | int | float | bool | None:
    """`value` as Gephi can type it; None for a value to leave out (None, NaN, ±inf)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value) if name in SMALL_INTS else str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    return str(value)


def graph_meta(result: ScanResult) -> dict[str, object]:
    """Where the graph comes from: chain, block, and which loopscan wrote the file."""
    meta = result.snapshot.meta
    return {"chain_id": meta.chain_id, "block": meta.block_number, "block_hash": meta.block_hash,
            "block_timestamp": meta.block_timestamp, "numeraire": meta.numeraire,
            "loopscan_version": loopscan.__version__, "snapshot_loopscan_version": meta.loopscan_version}  # fmt: skip


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def _label(node: str, data: dict, symbols: dict[str, str], lltvs: dict[str, float]) -> str:
    kind = data.get("kind")
    if kind == "token":
        return data.get("symbol") or _short(data.get("address", node))
    if kind == "vault":
        return f"{data.get('symbol') or _short(data.get('address', node))} vault"
    if kind == "market":
        loan = symbols.get(data.get("loan_token"), "?")
        collateral = symbols.get(data.get("collateral_token"))
        if collateral and data.get("margin") == "isolated":
            lltv = lltvs.get(node)
            return f"{collateral}/{loan}" + (f" {lltv * 100:g}%" if lltv is not None else "")
        return f"{loan} {data.get('protocol', '')}".strip()
    if kind == "opaque":
        return f"off-chain backing of {symbols.get(data.get('vault'), _short(data.get('vault', '')))}"
    return _short(data.get("address", node))


def _extras(result: ScanResult) -> dict[str, dict[str, object]]:
    """Threshold and exposure attributes by node id."""
    out: dict[str, dict[str, object]] = {}
    for row in result.thresholds.to_dict("records"):
        prefix = _SHOCK_PREFIX.get(row["shock"], f"{row['shock']}_")
        out.setdefault(token_node(row["token"]), {}).update({prefix + name: row[name] for name in _THRESHOLDS})
    if len(result.vaults):
        for row in result.vaults.to_dict("records"):
            out.setdefault(vault_node(row["vault"]), {}).update({name: row[name] for name in _VAULT_SUMMARY})
    return out


def annotated_graph(result: ScanResult) -> nx.MultiDiGraph:
    """The risk graph with thresholds on token nodes and the exposure summary on vault nodes,
    every attribute typed as the module docstring says. Node ids and edges are `result.graph`'s."""
    snap = result.snapshot
    symbols = {a: s for a, s in zip(snap.tokens["address"], snap.tokens["symbol"], strict=True) if isinstance(s, str)}
    decimals = {a: int(d) for a, d in zip(snap.tokens["address"], snap.tokens["decimals"], strict=True)}
    share_symbol = {
        v: symbols[s] for v, s in zip(snap.vaults["vault"], snap.vaults["share_token"], strict=True) if s in symbols
    }
    lltvs = {market_node(c.protocol_address, c.market_id): c.liquidation_threshold_wad / 10**18
             for c in snap.market_collaterals.itertuples()}  # fmt: skip
    extras = _extras(result)
    g = nx.MultiDiGraph(**{k: v for k, v in graph_meta(result).items() if v is not None})
    for node, data in result.graph.nodes(data=True):
        attrs = dict(data)
        if attrs.get("kind") == "vault" and attrs.get("address") in share_symbol:
            attrs.setdefault("symbol", share_symbol[attrs["address"]])
        attrs.update(extras.get(node, {}))
        attrs["label"] = _label(node, attrs, symbols, lltvs)
        g.add_node(node, **_clean(attrs))
    for u, v, key, data in result.graph.edges(keys=True, data=True):
        attrs = dict(data, label=data.get("kind"))
        amount, token = data.get("amount"), data.get("token")
        if isinstance(amount, numbers.Integral) and token in decimals:
            attrs["amount_tokens"] = float(amount) / 10 ** decimals[token]
        g.add_edge(u, v, key=key, **_clean(attrs))
    return g


def _clean(attrs: dict) -> dict:
    out = {}
    for name, value in attrs.items():
        value = _typed(name, value)
        if value is not None:
            out[name] = value
    return out


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: object) -> object:
    """A string XML 1.0 can hold: characters it forbids (ESC, NUL, lone surrogates) shown as
    escapes, as `terminal_safe` shows them. Other values unchanged."""
    if not isinstance(value, str) or not _XML_INVALID.search(value):
        return value
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", value)


def _xml_safe(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    out = nx.MultiDiGraph(**{k: _xml_text(v) for k, v in g.graph.items()})
    for node, data in g.nodes(data=True):
        out.add_node(_xml_text(node), **{k: _xml_text(v) for k, v in data.items()})
    for u, v, key, data in g.edges(keys=True, data=True):
        out.add_edge(_xml_text(u), _xml_text(v), key=key, **{k: _xml_text(x) for k, x in data.items()})
    return out


def write_graphml(result: ScanResult, path: Path) -> Path:
    """GraphML (Gephi, yEd, Cytoscape); read back with `nx.read_graphml`."""
    nx.write_graphml(_xml_safe(annotated_graph(result)), path)
    return path


def write_gexf(result: ScanResult, path: Path) -> Path:
    """GEXF 1.2 (Gephi's own format); read back with `nx.read_gexf`."""
    nx.write_gexf(_xml_safe(annotated_graph(result)), path)
    return path


def write_json(result: ScanResult, path: Path) -> Path:
    """Node-link JSON (d3): `nodes`, `links` and a top-level `meta` block; strict JSON (no NaN).
    Read back with `nx.node_link_graph(data, edges="links")`."""
    g = annotated_graph(result)
    data = nx.node_link_data(g, edges="links")
    data["meta"] = graph_meta(result)
    path.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


_SHAPES = {"token": "ellipse", "vault": "box", "market": "diamond", "account": "circle", "opaque": "octagon"}
_EDGE_COLOURS = {"backs": "darkgreen", "issues": "blue", "collateral": "orange", "borrows": "red",
                 "supplies": "gray40", "lends": "gray60", "secures": "darkorange"}  # fmt: skip


def _dot_string(text: str) -> str:
    """`text` as a double-quoted DOT string: `\\` and `"` escaped, so nothing can end the string
    early (a trailing backslash included)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_id(text: str) -> str:
    """A node id: control characters shown as escapes (no line break in the file), then quoted."""
    return _dot_string(terminal_safe(text, max_len=sys.maxsize))


def _dot_label(text: str, max_len: int = 64) -> str:
    """A label: control and format characters shown as escapes (`\\x0a`, `\\u202e`, as the CLI
    shows them: no line break or bidi override from a symbol), cut to `max_len` characters, quoted.
    Always a quoted string, never an HTML-like `<…>` label, so `<img …>` in a symbol is text."""
    return _dot_string(terminal_safe(text, max_len=max_len))


def write_dot(result: ScanResult, path: Path) -> Path:
    """Graphviz DOT, written here (no Graphviz binding needed): shapes by node kind, labels and
    colours by edge kind; every id and label quoted and escaped."""
    g = annotated_graph(result)
    meta = graph_meta(result)
    title = f"loopscan risk graph, chain {meta['chain_id']}, block {meta['block']}"
    lines = [
        "digraph loopscan {",
        f"  graph [label={_dot_label(title)}, rankdir=LR];",
        "  node [fontsize=10];",
        "  edge [fontsize=8];",
    ]
    for node, data in g.nodes(data=True):
        shape = _SHAPES.get(data.get("kind"), "plaintext")
        lines.append(
            f"  {_dot_id(node)} [label={_dot_label(data['label'])}, shape={shape}, tooltip={_dot_label(node, sys.maxsize)}];"
        )
    for u, v, data in g.edges(data=True):
        kind = data.get("kind", "")
        colour = _EDGE_COLOURS.get(kind, "black")
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [label={_dot_label(kind)}, color={colour}];")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

"""The risk graph as files Gephi, Graphviz and JavaScript read: GraphML, GEXF, node-link JSON, DOT.

Attributes are typed for Gephi: kinds and symbols are strings, **uint256 amounts are decimal
strings** (they exceed 64 bits), thresholds and fractions are floats; an unknown value is left
out rather than written as NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx

from loopscan.result import ScanResult

__all__ = ["annotated_graph", "write_graphml", "write_gexf", "write_json", "write_dot"]

_THRESHOLDS = ("first_liquidation_frac", "cascade_frac", "bad_debt_frac")


def _clean(value):
    """A value as GraphML/GEXF can type it: big ints as strings, no None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return value
    return str(value)


def annotated_graph(result: ScanResult) -> nx.MultiDiGraph:
    """The risk graph with the solver's thresholds on token nodes and exposure on vault nodes."""
    g = nx.MultiDiGraph()
    meta = result.snapshot.meta
    g.graph.update(chain_id=meta.chain_id, block=meta.block_number, block_hash=meta.block_hash, loopscan_version=meta.loopscan_version)
    depeg = result.thresholds[result.thresholds["shock"] == "depeg"].set_index("token") if len(result.thresholds) else None
    vaults = result.vaults.set_index("vault") if len(result.vaults) else None
    for node, data in result.graph.nodes(data=True):
        attrs = {k: _clean(v) for k, v in data.items()}
        address = data.get("address")
        if data["kind"] == "token" and depeg is not None and address in depeg.index:
            for name in _THRESHOLDS:
                attrs[name] = _clean(float(depeg.at[address, name]) if depeg.at[address, name] is not None else None)
        if data["kind"] == "vault" and vaults is not None and address in vaults.index:
            v = vaults.loc[address]
            attrs.update(depth=int(v["depth"]), base_fraction=float(v["base_fraction"]),
                         opaque_fraction=float(v["opaque_fraction"]), multiplier=_clean(float(v["multiplier"])))  # fmt: skip
        g.add_node(node, **{k: v for k, v in attrs.items() if v is not None and not (isinstance(v, float) and math.isinf(v))})
    for u, v, data in result.graph.edges(data=True):
        g.add_edge(u, v, **{k: c for k, c in ((k, _clean(x)) for k, x in data.items()) if c is not None})
    return g


def write_graphml(result: ScanResult, path: Path) -> Path:
    nx.write_graphml(annotated_graph(result), path)
    return path


def write_gexf(result: ScanResult, path: Path) -> Path:
    nx.write_gexf(annotated_graph(result), path)
    return path


def write_json(result: ScanResult, path: Path) -> Path:
    g = annotated_graph(result)
    data = nx.node_link_data(g, edges="links")
    data["meta"] = dict(g.graph)
    path.write_text(json.dumps(data, indent=1, allow_nan=False))
    return path


_SHAPES = {"token": "ellipse", "vault": "box", "market": "diamond", "account": "point", "opaque": "octagon"}


def _dot_id(text: str) -> str:
    """A double-quoted DOT id: backslashes, quotes and line breaks escaped."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def write_dot(result: ScanResult, path: Path) -> Path:
    """Graphviz DOT, written here so no Graphviz binding is needed; every label is escaped."""
    g = annotated_graph(result)
    lines = ["digraph loopscan {", "  rankdir=BT;"]
    for node, data in g.nodes(data=True):
        label = data.get("symbol") or data.get("market_id", "")[:10] or node.split(":")[0]
        lines.append(f"  {_dot_id(node)} [label={_dot_id(str(label))}, shape={_SHAPES.get(data['kind'], 'ellipse')}];")
    for u, v, data in g.edges(data=True):
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [label={_dot_id(data['kind'])}];")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    return path

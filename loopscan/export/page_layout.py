"""Where the page draws each node (pyramids side by side) and which edges it draws."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from loopscan.export import page_format as fmt

if TYPE_CHECKING:
    from loopscan.export.page_data import _Page

__all__ = ["COL_W", "LEVEL_H", "page_edges", "place"]

LEVEL_H, COL_W = 145.0, 160.0  # layout units (px at zoom 1)


def _node_id(page: _Page, graph_node: str) -> str | None:
    if graph_node.startswith("vault:"):
        v = page.vault.get(graph_node.removeprefix("vault:"))
        return f"token:{v.share_token}" if v is not None else None
    return graph_node if graph_node in page.nodes else None

def page_edges(page: _Page) -> list[dict]:
    """The page's edges: the graph's backs/lends/secures between drawn nodes, and each market's
    aggregated accounts, valued in USD."""
    total: dict[tuple[str, str, str], float | None] = {}
    for u, v, d in page.r.graph.edges(data=True):
        kind = d.get("kind")
        if kind not in ("backs", "lends", "secures"):
            continue  # issues: a vault and its token are one node; positions: aggregated below
        source, target = _node_id(page, u), _node_id(page, v)
        if source is None or target is None or source == target:
            continue
        usd = page.usd(d.get("token"), d.get("amount")) if d.get("amount") is not None else None
        key = (source, target, kind)
        total[key] = (total.get(key) or 0.0) + usd if usd is not None else total.get(key)
    for node in list(page.nodes.values()):
        for kind, usd in node.pop("edges", []):
            if usd:
                market = "market:" + node["id"].removeprefix("accounts:")
                key = (market, node["id"], kind) if kind == "borrows" else (node["id"], market, kind)
                total[key] = usd
    out = []
    for i, ((source, target, kind), usd) in enumerate(sorted(total.items(), key=lambda x: x[0])):
        out.append({"id": f"e{i}", "source": source, "target": target, "kind": kind, "value_usd": usd,
                    "value": fmt.usd(usd) if usd is not None else "", "width": fmt.edge_width(usd),
                    "color": fmt.EDGES[kind][0]})  # fmt: skip
    return out


def place(page: _Page) -> None:
    """Pyramids side by side: per base, the base at the bottom, receipts above by depth
    (opaque backing left of its vault), markets with their accounts to the right."""
    groups: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for node in page.nodes.values():
        if node["kind"] in ("base", "receipt"):
            token = node["address"]
            groups[page.token_base(token)][page.token_depth(token)].append(node["id"])
    for v in page.vault.values():
        if f"opaque:{v.vault}" in page.nodes:
            level = groups[page.token_base(v.share_token)][page.token_depth(v.share_token)]
            level.insert(0, f"opaque:{v.vault}")
    markets: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for key, m in page.markets.items():
        coll = m.collateral_token if isinstance(m.collateral_token, str) and key in page.isolated else m.loan_token
        anchor = coll if f"token:{coll}" in page.nodes else m.loan_token
        level = (page.token_depth(coll) + page.token_depth(m.loan_token)) / 2
        markets[page.token_base(anchor)].append((level, key))
        groups[page.token_base(anchor)]  # noqa: B018 — a group even for a market alone

    def weight(base: str) -> float:
        return -(page.nodes.get(f"token:{base}", {}).get("value_usd") or 0.0)

    x0 = 0.0
    for base in sorted(groups, key=lambda b: (-len(groups[b]) - len(markets[b]), weight(b), b)):
        levels = groups[base]
        width = max((len(ids) for ids in levels.values()), default=1)
        cx = x0 + width * COL_W / 2
        for depth, ids in levels.items():
            for i, node_id in enumerate(ids):
                page.nodes[node_id]["x"] = round(cx + (i - (len(ids) - 1) / 2) * COL_W, 1)
                page.nodes[node_id]["y"] = round(-depth * LEVEL_H, 1) + 0.0  # no -0.0
        right = x0 + width * COL_W
        columns: dict[float, int] = defaultdict(int)
        for level, key in sorted(markets[base]):
            j = columns[level]
            columns[level] += 1
            x, y = right + COL_W * (0.8 + 2 * j), -level * LEVEL_H + 0.0
            page.nodes[f"market:{key}"].update(x=round(x, 1), y=round(y, 1))
            if f"accounts:{key}" in page.nodes:
                page.nodes[f"accounts:{key}"].update(x=round(x + COL_W * 0.9, 1), y=round(y + LEVEL_H * 0.3, 1))
        x0 = right + COL_W * (2 * max(columns.values(), default=0) + 0.8)
    for node in page.nodes.values():  # anything not placed (should not happen): a row below
        if "x" not in node:
            node["x"], node["y"] = x0, LEVEL_H
            x0 += COL_W

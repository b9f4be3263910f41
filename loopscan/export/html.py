"""The risk graph as one self-contained HTML page that works offline.

`write_html(result, path)` writes `path/risk-graph.html` (or `path` itself when it ends in
`.html`): the graph library (cytoscape.js, from the npm package pinned in `package.json`) is
read from `node_modules/` and inlined, the graph is a JSON block, and the page's own CSS and
JS come from `loopscan/export/page/`. Nothing is fetched when the page is opened: a
Content-Security-Policy forbids every network request.

What the page shows (`page_data` builds it; the page only draws it):

* **Pyramids by base asset** (preset positions computed here): each base token at the bottom
  of its column, the receipts built on it above it by depth (`ScanResult.vaults`), a vault's
  opaque backing to the left of it, and the markets to the right, each at the height between
  its collateral and its loan token. A vault and the receipt token it issues are one node.
* **Accounts are aggregated**: one node per market for all its positions (mainnet has 100,000
  accounts); a vault's own supply to a market is drawn as the market backing the vault instead.
  A market's and a token's largest positions (`TOP_POSITIONS`) are listed in the detail panel.
* **Node size** by value in USD (log-scaled), **colour** by distance to δ₁ (the depeg at which
  the first position becomes liquidatable): red close, green far, grey none.
* **Clicking a node** shows its exposure, its thresholds and its positions; a search box finds
  nodes by symbol or address; a legend says all this on the page.

Token symbols are attacker-controlled. They reach the page only as JSON strings inside a
`<script type="application/json">` block with `<`, `>`, `&`, U+2028 and U+2029 escaped, and the
page's JS puts them in the document with `textContent` (never `innerHTML`) or draws them on the
graph's canvas. Control and format characters (ANSI escapes, bidi overrides) are shown escaped
(`loopscan.textsafe.terminal_safe`).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd

from loopscan.errors import LoopscanError
from loopscan.result import ScanResult
from loopscan.textsafe import terminal_safe

__all__ = [
    "FILE_NAME",
    "LIBRARY",
    "HtmlExportError",
    "load_library",
    "page_data",
    "render_page",
    "script_json",
    "write_html",
]

FILE_NAME = "risk-graph.html"
LIBRARY = ("cytoscape", "dist/cytoscape.min.js")  # npm package, file inside it
PAGE = Path(__file__).with_name("page")
TOP_POSITIONS = 20  # positions listed per node
PER_POSITION_LIMIT = 40  # positions a depeg can reach beyond which per-position δ₁ is not solved (cost)
LEVEL_H, COL_W = 145.0, 160.0  # layout units (px at zoom 1)
SYMBOL_LEN = 48

# Distance to δ₁ (fraction of depeg): upper bound, colour, legend text.
BINS = [
    (0.05, "#b2182b", "δ₁ < 5 %"),
    (0.15, "#ef6548", "5 % ≤ δ₁ < 15 %"),
    (0.30, "#fdae61", "15 % ≤ δ₁ < 30 %"),
    (0.50, "#a6d96a", "30 % ≤ δ₁ < 50 %"),
    (math.inf, "#1a9850", "δ₁ ≥ 50 %"),
]
GREY = "#b4b4b4"
EDGES = {
    "backs": ("#4575b4", "backs: token, market supply or opaque backing held by a vault"),
    "lends": ("#8c8c8c", "lends: market lends its loan token"),
    "secures": ("#984ea3", "secures: token is a market's collateral"),
    "collateral": ("#c51b7d", "collateral: accounts post collateral in a market"),
    "borrows": ("#e08214", "borrows: market lends to its accounts"),
    "supplies": ("#1b7837", "supplies: accounts supply the loan token"),
}
SHAPES = {
    "base": ("ellipse", "base token (bottom of a pyramid)"),
    "receipt": ("round-rectangle", "receipt: a vault and the token it issues"),
    "market": ("diamond", "lending market"),
    "opaque": ("octagon", "opaque backing: reported assets not visible on chain"),
    "accounts": ("ellipse", "accounts of one market, aggregated"),
}
_THRESHOLD_NAMES = (
    ("first_liquidation_frac", "δ₁ first liquidation"),
    ("cascade_frac", "δ_c self-amplifying cascade"),
    ("bad_debt_frac", "δ_bd first bad debt"),
)
_SHOCKS = {"depeg": "market depeg of {}", "backing_loss": "loss of {}'s opaque backing"}


class HtmlExportError(LoopscanError):
    """The HTML page cannot be written (its graph library is not installed)."""


def write_html(result: ScanResult, path: Path) -> Path:
    """Write the page into folder `path` as `risk-graph.html` (or to `path` if it names an
    `.html` file); return the file written."""
    path = Path(path)
    target = path if path.suffix.lower() in (".html", ".htm") else path / FILE_NAME
    library = load_library()
    page = render_page(page_data(result), library)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def load_library(root: Path | None = None) -> tuple[str, str]:
    """(minified JS, "name version") of the graph library: the copy a wheel vendors as package
    data, or `node_modules/` of the checkout (`root`, default: this one; `loopscan.shipped`)."""
    from loopscan.shipped import vendored

    package = vendored(LIBRARY[0], root)
    file = package / LIBRARY[1]
    if not file.is_file():
        raise HtmlExportError(
            f"the HTML export inlines {LIBRARY[0]} from {file}, which is missing: run `npm ci` in {package.parents[1]}"
        )
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = "?"
    return file.read_text(encoding="utf-8"), f"{LIBRARY[0]} {version}"


# ---------------------------------------------------------------------------------------------
# Escaping


def script_json(data) -> str:
    """JSON that can sit inside a <script> element: no `<`, `>`, `&`, U+2028 or U+2029 in it."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _inline_js(code: str) -> str:
    """JS that cannot close or confuse its <script> element (`<\\/` means `</` in strings,
    regular expressions and template literals alike)."""
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


def render_page(data: dict, library: tuple[str, str]) -> str:
    """The page: template + CSS + inlined library + the page's JS + the data."""
    js, lib_name = library
    data = {**data, "meta": {**data.get("meta", {}), "library": lib_name}}
    meta = data["meta"]
    parts = {
        "TITLE": html.escape(f"chain {meta.get('chain_id')}, block {meta.get('block')}"),
        "CSS": (PAGE / "page.css").read_text(encoding="utf-8").replace("</", "<\\/"),
        "DATA": script_json(data),
        "LIBRARY": _inline_js(js),
        "APP": _inline_js((PAGE / "page.js").read_text(encoding="utf-8")),
    }
    template = (PAGE / "page.html").read_text(encoding="utf-8")
    # One pass, so that nothing inserted is ever searched for another marker.
    return re.sub(r"@@(TITLE|CSS|DATA|LIBRARY|APP)@@", lambda m: parts[m.group(1)], template)


# ---------------------------------------------------------------------------------------------
# Formatting (every number carries its unit)


def _num(x) -> float | None:
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _usd(x) -> str:
    x = _num(x)
    if x is None:
        return "n/a (no price)"
    if math.isinf(x):
        return "∞"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.2f}{suffix}"
    return f"${x:,.2f}"


def _pct(x, never: str = "—") -> str:
    x = _num(x)
    return never if x is None else f"{x * 100:.2f} %"


def _units(amount, decimals: int | None, symbol: str) -> str:
    if decimals is None:
        return f"{amount} raw units of {symbol}"
    value = int(amount) / 10**decimals
    return f"{value:,.2f} {symbol}" if abs(value) >= 0.01 or value == 0 else f"{value:.4g} {symbol}"


def _short(address: str) -> str:
    return address if len(address) <= 14 else f"{address[:6]}…{address[-4:]}"


def _colour(delta: float | None) -> str:
    if delta is None:
        return GREY
    return next(colour for bound, colour, _ in BINS if delta < bound)


SIZE_MIN, SIZE_MAX, SIZE_UNKNOWN = 24.0, 90.0, 18.0


def _size(usd: float | None, lo: float, hi: float) -> float:
    """Node diameter (px at zoom 1): log10 of the value in USD mapped from [lo, hi] (the
    snapshot's smallest and largest values, floored at $1k) onto [SIZE_MIN, SIZE_MAX]."""
    if usd is None or usd <= 0:
        return SIZE_UNKNOWN
    if hi <= lo:
        return (SIZE_MIN + SIZE_MAX) / 2
    t = (math.log10(max(usd, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return round(SIZE_MIN + (SIZE_MAX - SIZE_MIN) * min(max(t, 0.0), 1.0), 1)


def _edge_width(usd: float | None) -> float:
    if usd is None or usd <= 0:
        return 1.0
    return round(min(7.0, max(1.0, 1.0 + (math.log10(usd) - 4.0) * 1.2)), 2)


def _kv(title: str, rows: list, note: str | None = None) -> dict:
    return {"title": title, "rows": [[str(k), v] for k, v in rows], "note": note}


def _table(title: str, columns: list[str], rows: list, note: str | None = None, more: str | None = None) -> dict:
    return {"title": title, "columns": columns, "rows": rows, "note": note, "more": more}


def _cell(text: str, title: str) -> dict:
    """A table cell with a tooltip (the full address behind a shortened one)."""
    return {"text": text, "title": title}


# ---------------------------------------------------------------------------------------------
# The page's data


def page_data(result: ScanResult) -> dict:
    """Nodes (with preset positions, size, colour and the detail panel's sections), edges,
    legend and meta: everything the page draws, as plain JSON-able values."""
    return _Page(result).build()


class _Page:
    def __init__(self, result: ScanResult) -> None:
        self.r = result
        snap = result.snapshot
        self.snap = snap
        self.book = result.solver.book
        self.p0 = self.book.p0
        self.decimals = {t.address: int(t.decimals) for t in snap.tokens.itertuples() if _num(t.decimals) is not None}
        self.raw_symbol = {t.address: t.symbol for t in snap.tokens.itertuples()}
        self.vault = {v.vault: v for v in snap.vaults.itertuples()}
        self.vault_of_share = {v.share_token: v for v in snap.vaults.itertuples()}
        self.vault_rows = {row["vault"]: row for row in result.vaults.to_dict("records")} if len(result.vaults) else {}
        self.pyramid_rows = (
            {row["base"]: row for row in result.pyramids.to_dict("records")} if len(result.pyramids) else {}
        )
        self.markets = {f"{m.protocol_address}:{m.market_id}": m for m in snap.markets.itertuples()}
        self.thresholds: dict[str, dict[str, dict]] = defaultdict(dict)
        for row in result.thresholds.to_dict("records"):
            self.thresholds[row["token"]][row["shock"]] = row
        self.positions = list(snap.positions.itertuples())
        self.vault_supplies = {
            (f"{h.protocol_address}:{h.market_id}", h.holder)
            for h in snap.holdings.itertuples()
            if isinstance(h.market_id, str)
        }
        self.position_delta, self.per_position_solved = self._position_deltas()
        self.nodes: dict[str, dict] = {}

    # -- names and values ----------------------------------------------------------------------

    def name(self, address: str | None) -> str:
        if not isinstance(address, str):
            return "?"
        symbol = self.raw_symbol.get(address)
        if isinstance(symbol, str) and symbol.strip():
            return terminal_safe(symbol, SYMBOL_LEN)
        return _short(address)

    def usd(self, token: str, amount) -> float | None:
        price, decimals = self.p0.get(token), self.decimals.get(token)
        if price is None or decimals is None or amount is None:
            return None
        return int(amount) / 10**decimals * price

    def market_name(self, key: str) -> str:
        m = self.markets.get(key)
        if m is None:
            return _short(key.rsplit(":", 1)[-1])
        if m.protocol.startswith("morpho"):
            lltv = _num(m.lltv_wad)
            return f"{self.name(m.collateral_token)}/{self.name(m.loan_token)} · LLTV {_pct(lltv / 1e18 if lltv is not None else None)}"
        return f"{self.name(m.loan_token)} reserve ({m.protocol})"

    def account_name(self, address: str) -> dict:
        if address in self.vault or address in self.raw_symbol:
            return _cell(self.name(address), address)
        return _cell(_short(address), address)

    def token_depth(self, token: str, seen: tuple[str, ...] = ()) -> int:
        v = self.vault_of_share.get(token)
        if v is None or token in seen:
            return 0
        row = self.vault_rows.get(v.vault)
        if row is not None and _num(row.get("depth")) is not None:
            return int(row["depth"])
        return 1 + self.token_depth(v.asset, (*seen, token))

    def token_base(self, token: str, seen: tuple[str, ...] = ()) -> str:
        v = self.vault_of_share.get(token)
        if v is None or token in seen:
            return token
        row = self.vault_rows.get(v.vault)
        if row is not None and isinstance(row.get("base"), str):
            return row["base"]
        return self.token_base(v.asset, (*seen, token))

    def delta1(self, token: str, shock: str = "depeg") -> float | None:
        row = self.thresholds.get(token, {}).get(shock)
        return _num(row["first_liquidation_frac"]) if row else None

    def _position_deltas(self) -> tuple[dict[tuple[str, str], tuple[float, str]], bool]:
        """(market key or pool, account) -> (δ₁ of that position, token whose depeg), from the
        solver; skipped for a token whose depeg reaches more than PER_POSITION_LIMIT positions."""
        out: dict[tuple[str, str], tuple[float, str]] = {}
        complete = True
        solver = self.r.solver
        for token, shocks in self.thresholds.items():
            if "depeg" not in shocks:
                continue
            if len(solver.cascade("depeg", token, 1.0).at_risk) > PER_POSITION_LIMIT:
                complete = False
                continue
            for position, delta in solver.first_liquidation_by_position("depeg", token).items():
                if position not in out or delta < out[position][0]:
                    out[position] = (delta, token)
        return out, complete

    def delta_of_position(self, p) -> tuple[float, str] | None:
        key = f"{p.protocol_address}:{p.market_id}"
        found = self.position_delta.get((key, p.account))
        if found is None and p.debt_amount:
            found = self.position_delta.get((p.protocol_address, p.account))  # a pooled protocol's account
        return found

    # -- positions -----------------------------------------------------------------------------

    def position_row(self, p, with_market: bool) -> tuple[float, list]:
        key = f"{p.protocol_address}:{p.market_id}"
        m = self.markets.get(key)
        loan = m.loan_token if m is not None else None
        coll = self.usd(p.collateral_token, p.collateral_amount) if p.collateral_amount else 0.0
        debt = self.usd(loan, p.debt_amount) if p.debt_amount else 0.0
        supply = self.usd(loan, p.supply_amount) if p.supply_amount else 0.0
        # One collateral per market (Morpho): debt over collateral. A pooled account's debt and
        # collateral sit in different reserves, so a per-reserve LTV would mislead.
        ltv = debt / coll if coll and debt is not None and m is not None and m.protocol.startswith("morpho") else None
        found = self.delta_of_position(p)
        delta = f"{_pct(found[0])} ({self.name(found[1])})" if found else "—"
        row = [self.account_name(p.account)]
        if with_market:
            row.append(self.market_name(key))
        row += [
            _usd(coll) if p.collateral_amount else "—",
            _usd(debt) if p.debt_amount else "—",
            _usd(supply) if p.supply_amount else "—",
            _pct(ltv),
            delta,
        ]
        size = max(x or 0.0 for x in (coll, debt, supply))
        return size, row

    def positions_section(self, title: str, positions: list, with_market: bool, note: str | None = None) -> dict:
        rows = sorted((self.position_row(p, with_market) for p in positions), key=lambda x: -x[0])
        columns = ["account"] + (["market"] if with_market else []) + [
            "collateral (USD)", "debt (USD)", "supplied (USD)", "LTV (%)", "δ₁ (% depeg of)"
        ]  # fmt: skip
        more = None
        if len(rows) > TOP_POSITIONS:
            more = f"… and {len(rows) - TOP_POSITIONS:,} more positions (largest {TOP_POSITIONS} shown)"
        return _table(title, columns, [r for _, r in rows[:TOP_POSITIONS]], note=note, more=more)

    # -- sections ------------------------------------------------------------------------------

    def threshold_sections(self, token: str) -> list[dict]:
        out = []
        for shock, row in sorted(self.thresholds.get(token, {}).items(), key=lambda x: (x[0] != "depeg", x[0])):
            rows = [(label, _pct(row[name], never="never (up to 100 %)")) for name, label in _THRESHOLD_NAMES]
            rows.append(
                (
                    "positions liquidatable at 100 %",
                    f"{int(row['positions_at_risk']):,} position{'s' if int(row['positions_at_risk']) != 1 else ''}",
                )
            )
            rows.append(("bad debt at 100 %", f"{_usd(row['bad_debt_at_100pct_usd'])} (USD)"))
            if isinstance(row.get("oracle_flags"), str):
                rows.append(("unclassified oracles (treated as market)", row["oracle_flags"]))
            title = "Thresholds — " + _SHOCKS.get(shock, shock + " of {}").format(self.name(token))
            out.append(_kv(title, rows))
        if not out:
            out.append(_kv("Thresholds", [], note="No threshold: no position holds this token as collateral."))
        return out

    def losses_section(self, mask: pd.Series, title: str) -> dict | None:
        losses = self.r.losses[mask]
        if losses.empty:
            return None
        rows = []
        for row in losses.itertuples():
            rows.append([
                row.threshold.replace("_", " "), f"{_pct(row.shock_frac)} {row.shock.replace('_', ' ')} of {self.name(row.token)}",
                self.market_name(row.market), self.account_name(row.lender) if isinstance(row.lender, str) else "?",
                _usd(row.realized_bad_debt_usd), _usd(row.hidden_bad_debt_usd),
            ])  # fmt: skip
        columns = ["at threshold", "shock", "market", "lender", "realised bad debt (USD)", "hidden bad debt (USD)"]
        return _table(title, columns, rows, note="One basis point past each threshold.")

    def exposure_section(self, vault: str) -> dict | None:
        e = self.r.exposure
        rows = e[e["vault"] == vault]
        if rows.empty:
            return None
        labels = {"base": "base token", "opaque": "opaque backing", "market": "through market", "circular": "circular (cut)",
                  "unpriced": "unpriced collateral"}  # fmt: skip
        out = []
        for row in sorted(rows.itertuples(), key=lambda r: (r.kind == "market", -r.fraction)):
            if row.kind == "market":
                target = self.market_name(row.target)
            elif row.kind in ("opaque", "circular"):
                target = f"{self.name(row.target)}'s reported assets" if row.kind == "opaque" else self.name(row.target)
            else:
                target = self.name(row.target)
            out.append([target, labels.get(row.kind, row.kind), _pct(row.fraction)])
        return _table("Look-through exposure", ["rests on", "kind", "share of assets (%)"], out,
                      note="Markets overlap the leaves: they say how much flows through each market.")  # fmt: skip

    def holdings_section(self, vault: str) -> dict | None:
        h = self.snap.holdings[self.snap.holdings["vault"] == vault]
        if h.empty:
            return None
        rows = []
        for row in h.itertuples():
            where = (
                self.market_name(f"{row.protocol_address}:{row.market_id}")
                if isinstance(row.market_id, str)
                else "balance"
            )
            amount = _units(row.amount, self.decimals.get(row.token), self.name(row.token))
            rows.append(
                (self.usd(row.token, row.amount) or 0.0, [where, amount, _usd(self.usd(row.token, row.amount))])
            )
        rows.sort(key=lambda x: -x[0])
        return _table("Holdings (what the vault holds on chain)", ["held as", "amount (token units)", "value (USD)"],
                      [r for _, r in rows[:TOP_POSITIONS]])  # fmt: skip

    # -- nodes ---------------------------------------------------------------------------------

    def add(self, node_id: str, kind: str, label: str, title: str, usd: float | None, delta: float | None,
            search: list[str], sections: list[dict], address: str | None = None) -> dict:  # fmt: skip
        node = {
            "id": node_id, "kind": kind, "label": label, "title": title, "address": address,
            "value_usd": usd, "value": _usd(usd), "delta1": delta, "color": _colour(delta),
            "search": " ".join(s for s in search if s).lower(),
            "sections": [s for s in sections if s],
        }  # fmt: skip
        self.nodes[node_id] = node
        return node

    def token_nodes(self) -> None:
        tokens = set(self.raw_symbol) | {v.share_token for v in self.vault.values()}
        tokens |= {m.loan_token for m in self.markets.values()}
        tokens |= {m.collateral_token for m in self.markets.values() if isinstance(m.collateral_token, str)}
        by_collateral = defaultdict(list)
        for p in self.positions:
            if p.collateral_amount:
                by_collateral[p.collateral_token].append(p)
        for token in sorted(t for t in tokens if isinstance(t, str)):
            v = self.vault_of_share.get(token)
            symbol = self.name(token)
            price = self.p0.get(token)
            price_source = ("assumed at par (numeraire)" if token in self.book.assumed_par
                            else "book value of its vault" if v is not None and token not in self.book.anchored
                            else "oracle")  # fmt: skip
            summary = [("address", token), ("decimals", self.decimals.get(token, "unknown")),
                       ("price", f"{_usd(price)} per token ({price_source})" if price is not None else "unknown")]  # fmt: skip
            sections: list[dict | None] = []
            if v is not None:
                usd = self.usd(v.asset, v.total_assets)
                row = self.vault_rows.get(v.vault, {})
                summary += [
                    ("vault kind", v.kind), ("underlying", self.name(v.asset)),
                    ("reported assets", f"{_units(v.total_assets, self.decimals.get(v.asset), self.name(v.asset))} = {_usd(usd)}"),
                    ("opaque assets", f"{_units(v.opaque_assets, self.decimals.get(v.asset), self.name(v.asset))} ({_pct(int(v.opaque_assets) / int(v.total_assets) if int(v.total_assets) else None)})"),
                ]  # fmt: skip
                if row:
                    summary += [("pyramid depth", f"{int(row['depth'])} level{'s' if int(row['depth']) != 1 else ''} above {self.name(row['base'])}"),
                                ("leverage multiplier", f"{float(row['multiplier']):.2f}× reported assets per unit of base"),
                                ("base fraction", _pct(row["base_fraction"]))]  # fmt: skip
                sections.append(_kv(f"Receipt — {symbol}", summary, note="Value: the vault's reported assets."))
                sections += self.threshold_sections(token)
                sections.append(self.exposure_section(v.vault))
                sections.append(self.holdings_section(v.vault))
                kind = "receipt"
            else:
                pyramid = self.pyramid_rows.get(token)
                parts = [float(pyramid["base_held"]) * price if pyramid and price is not None else None]
                parts.append(
                    self.usd(
                        token, sum(int(m.total_supply_assets) for m in self.markets.values() if m.loan_token == token)
                    )
                )
                parts.append(self.usd(token, sum(int(p.collateral_amount) for p in by_collateral.get(token, []))))
                known = [x for x in parts if x is not None]
                usd = max(known) if known else None
                if pyramid:
                    outstanding = float(pyramid["receipts_outstanding"])
                    summary += [("pyramid", f"{int(pyramid['vaults'])} receipts, {int(pyramid['depth'])} levels deep"),
                                ("receipts outstanding", f"{outstanding:,.2f} {symbol} = {_usd(outstanding * price if price is not None else None)}"),
                                ("base held by the pyramid", f"{float(pyramid['base_held']):,.2f} {symbol} = {_usd(parts[0])}"),
                                ("pyramid multiplier", f"{float(pyramid['multiplier']):.2f}× receipts per unit of base held")]  # fmt: skip
                sections.append(_kv(f"Base token — {symbol}", summary,
                                    note="Value: the largest of the base held by its pyramid, supplied to markets, posted as collateral."))  # fmt: skip
                sections += self.threshold_sections(token)
                kind = "base"
            if by_collateral.get(token):
                sections.append(
                    self.positions_section(f"Positions with {symbol} as collateral", by_collateral[token], True)
                )
            sections.append(
                self.losses_section(self.r.losses["token"] == token, f"Losses by lender when {symbol} depegs")
            )
            self.add(f"token:{token}", kind, symbol, symbol, usd, self.delta1(token), [symbol, token], sections, token)

    def market_nodes(self) -> None:
        by_market = defaultdict(list)
        for p in self.positions:
            by_market[f"{p.protocol_address}:{p.market_id}"].append(p)
        for key, m in self.markets.items():
            name = self.market_name(key)
            usd = self.usd(m.loan_token, m.total_supply_assets)
            borrowed = self.usd(m.loan_token, m.total_borrow_assets)
            supply, borrow = int(m.total_supply_assets), int(m.total_borrow_assets)
            oracle_note = {"market": "market price: a depeg liquidates here",
                           "exchange_rate": "exchange rate of a vault: a market depeg does not liquidate here (hidden bad debt instead)",
                           "fixed": "fixed price: a market depeg does not liquidate here (hidden bad debt instead)",
                           "unknown": "unclassified: treated as a market oracle"}.get(m.oracle_kind, str(m.oracle_kind))  # fmt: skip
            summary = [("protocol", m.protocol), ("market id", m.market_id), ("loan token", self.name(m.loan_token))]
            if m.protocol.startswith("morpho"):
                lltv = _num(m.lltv_wad)
                summary += [("collateral token", self.name(m.collateral_token)),
                            ("LLTV", _pct(lltv / 1e18 if lltv is not None else None))]  # fmt: skip
            elif _num(m.liquidation_threshold_bps) is not None:
                summary.append(("liquidation threshold", _pct(float(m.liquidation_threshold_bps) / 1e4)))
            summary += [("oracle", oracle_note), ("supplied", _usd(usd) + " (USD)"), ("borrowed", _usd(borrowed) + " (USD)"),
                        ("utilisation", _pct(borrow / supply if supply else None))]  # fmt: skip
            deltas = [self.delta_of_position(p) for p in by_market.get(key, [])]
            deltas = [d for d in deltas if d is not None]
            if deltas:
                d, token = min(deltas)
                delta, first = d, f"{_pct(d)} depeg of {self.name(token)} (first of its positions, before any cascade)"
            elif not self.per_position_solved and self.delta1(m.collateral_token) is not None:
                delta = self.delta1(m.collateral_token)
                first = f"not solved per position here; {self.name(m.collateral_token)}'s first liquidation anywhere: {_pct(delta)}"
            else:
                delta, first = None, "never: no depeg up to 100 % makes a position here liquidatable"
            summary.append(("δ₁ of this market", first))
            sections = [_kv(f"Market — {name}", summary, note="Value: total supplied.")]
            if m.protocol.startswith("morpho"):
                sections += [s for s in self.threshold_sections(m.collateral_token) if s["rows"]]
            sections.append(self.positions_section("Positions", by_market.get(key, []), False))
            sections.append(self.losses_section(self.r.losses["market"] == key, "Losses by lender in this market"))
            self.add(f"market:{key}", "market", name, name, usd, delta, [name, key, m.market_id], sections, m.market_id)
            self.market_accounts(key, m, by_market.get(key, []), delta)

    def market_accounts(self, key: str, m, positions: list, delta: float | None) -> None:
        """One node for the accounts of a market (a vault's own supply is its `backs` edge)."""
        shown = [p for p in positions
                 if not ((key, p.account) in self.vault_supplies and not p.collateral_amount and not p.debt_amount)]  # fmt: skip
        if not shown:
            return
        coll = sum(self.usd(p.collateral_token, p.collateral_amount) or 0.0 for p in shown if p.collateral_amount)
        debt = sum(self.usd(m.loan_token, p.debt_amount) or 0.0 for p in shown if p.debt_amount)
        supply = sum(self.usd(m.loan_token, p.supply_amount) or 0.0 for p in shown if p.supply_amount)
        accounts = len({p.account for p in shown})
        borrowers = len({p.account for p in shown if p.debt_amount})
        name = self.market_name(key)
        label = f"{accounts:,} account{'s' if accounts != 1 else ''}"
        summary = [("market", name), ("accounts", f"{accounts:,} ({borrowers:,} borrowing)"),
                   ("collateral posted", _usd(coll) + " (USD)"), ("debt", _usd(debt) + " (USD)"),
                   ("supplied", _usd(supply) + " (USD)")]  # fmt: skip
        sections = [
            _kv(f"Accounts — {name}", summary, note="Aggregated: every account with a position in this market, "
                "except a vault's own supply (drawn as the market backing the vault). Value: collateral posted."),
            self.positions_section("Largest positions", shown, False),
        ]  # fmt: skip
        node = self.add(f"accounts:{key}", "accounts", label, f"{label} in {name}", coll or supply or None, delta,
                        [name, key] + [p.account for p in shown[:TOP_POSITIONS * 5]], sections)  # fmt: skip
        node["edges"] = [("collateral", coll), ("borrows", debt), ("supplies", supply)]

    def opaque_nodes(self) -> None:
        for v in self.vault.values():
            if int(v.opaque_assets) <= 0:
                continue
            usd = self.usd(v.asset, v.opaque_assets)
            share = self.name(v.share_token)
            summary = [("vault", share), ("opaque assets", f"{_units(v.opaque_assets, self.decimals.get(v.asset), self.name(v.asset))} = {_usd(usd)}"),
                       ("share of reported assets", _pct(int(v.opaque_assets) / int(v.total_assets) if int(v.total_assets) else None))]  # fmt: skip
            sections = [_kv(f"Opaque backing of {share}", summary,
                            note="Reported by the vault's manager, not visible on chain. Colour: δ₁ of a loss of this backing.")]  # fmt: skip
            sections += [
                s for s in self.threshold_sections(v.share_token) if s["title"].startswith("Thresholds — loss")
            ]
            self.add(f"opaque:{v.vault}", "opaque", f"opaque ({share})", f"Opaque backing of {share}", usd,
                     self.delta1(v.share_token, "backing_loss"), [share, "opaque", v.vault], sections)  # fmt: skip

    # -- edges ---------------------------------------------------------------------------------

    def node_id(self, graph_node: str) -> str | None:
        if graph_node.startswith("vault:"):
            v = self.vault.get(graph_node.removeprefix("vault:"))
            return f"token:{v.share_token}" if v is not None else None
        return graph_node if graph_node in self.nodes else None

    def edges(self) -> list[dict]:
        total: dict[tuple[str, str, str], float | None] = {}
        for u, v, d in self.r.graph.edges(data=True):
            kind = d.get("kind")
            if kind not in ("backs", "lends", "secures"):
                continue  # issues: a vault and its token are one node; positions: aggregated below
            source, target = self.node_id(u), self.node_id(v)
            if source is None or target is None or source == target:
                continue
            usd = self.usd(d.get("token"), d.get("amount")) if d.get("amount") is not None else None
            key = (source, target, kind)
            total[key] = (total.get(key) or 0.0) + usd if usd is not None else total.get(key)
        for node in list(self.nodes.values()):
            for kind, usd in node.pop("edges", []):
                if usd:
                    market = "market:" + node["id"].removeprefix("accounts:")
                    key = (market, node["id"], kind) if kind == "borrows" else (node["id"], market, kind)
                    total[key] = usd
        out = []
        for i, ((source, target, kind), usd) in enumerate(sorted(total.items(), key=lambda x: x[0])):
            out.append({"id": f"e{i}", "source": source, "target": target, "kind": kind, "value_usd": usd,
                        "value": _usd(usd) if usd is not None else "", "width": _edge_width(usd),
                        "color": EDGES[kind][0]})  # fmt: skip
        return out

    # -- layout --------------------------------------------------------------------------------

    def layout(self) -> None:
        """Pyramids side by side: per base, the base at the bottom, receipts above by depth
        (opaque backing left of its vault), markets with their accounts to the right."""
        groups: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for node in self.nodes.values():
            if node["kind"] in ("base", "receipt"):
                token = node["address"]
                groups[self.token_base(token)][self.token_depth(token)].append(node["id"])
        for v in self.vault.values():
            if f"opaque:{v.vault}" in self.nodes:
                level = groups[self.token_base(v.share_token)][self.token_depth(v.share_token)]
                level.insert(0, f"opaque:{v.vault}")
        markets: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for key, m in self.markets.items():
            coll = (
                m.collateral_token
                if isinstance(m.collateral_token, str) and m.protocol.startswith("morpho")
                else m.loan_token
            )
            anchor = coll if f"token:{coll}" in self.nodes else m.loan_token
            level = (self.token_depth(coll) + self.token_depth(m.loan_token)) / 2
            markets[self.token_base(anchor)].append((level, key))
            groups[self.token_base(anchor)]  # noqa: B018 — a group even for a market alone

        def weight(base: str) -> float:
            return -(self.nodes.get(f"token:{base}", {}).get("value_usd") or 0.0)

        x0 = 0.0
        for base in sorted(groups, key=lambda b: (-len(groups[b]) - len(markets[b]), weight(b), b)):
            levels = groups[base]
            width = max((len(ids) for ids in levels.values()), default=1)
            cx = x0 + width * COL_W / 2
            for depth, ids in levels.items():
                for i, node_id in enumerate(ids):
                    self.nodes[node_id]["x"] = round(cx + (i - (len(ids) - 1) / 2) * COL_W, 1)
                    self.nodes[node_id]["y"] = round(-depth * LEVEL_H, 1) + 0.0  # no -0.0
            right = x0 + width * COL_W
            columns: dict[float, int] = defaultdict(int)
            for level, key in sorted(markets[base]):
                j = columns[level]
                columns[level] += 1
                x, y = right + COL_W * (0.8 + 2 * j), -level * LEVEL_H + 0.0
                self.nodes[f"market:{key}"].update(x=round(x, 1), y=round(y, 1))
                if f"accounts:{key}" in self.nodes:
                    self.nodes[f"accounts:{key}"].update(x=round(x + COL_W * 0.9, 1), y=round(y + LEVEL_H * 0.3, 1))
            x0 = right + COL_W * (2 * max(columns.values(), default=0) + 0.8)
        for node in self.nodes.values():  # anything not placed (should not happen): a row below
            if "x" not in node:
                node["x"], node["y"] = x0, LEVEL_H
                x0 += COL_W

    # -- all -----------------------------------------------------------------------------------

    def build(self) -> dict:
        self.token_nodes()
        self.market_nodes()
        self.opaque_nodes()
        edges = self.edges()
        self.layout()
        values = [n["value_usd"] for n in self.nodes.values() if n["value_usd"] and n["value_usd"] > 0]
        lo, hi = max(min(values, default=1e3), 1e3), max(max(values, default=1e3), 1e3)
        for node in self.nodes.values():
            node["size"] = _size(node["value_usd"], lo, hi)
        meta = self.snap.meta
        accounts = self.snap.positions["account"].nunique() if len(self.snap.positions) else 0
        notes = [
            "Pyramids by base asset: the base at the bottom, receipts above it by depth, markets to the right.",
            f"Accounts are aggregated, one node per market ({accounts:,} accounts here); click one for its "
            f"{TOP_POSITIONS} largest positions.",
            "Size: value in USD, log-scaled (smallest to largest node); double outline: no price.",
            "δ₁: the depeg of the token (a market's collateral; for opaque backing, its loss) at which the first "
            "position becomes liquidatable.",
            "Prices in USD; " + (", ".join(self.name(t) for t in self.book.assumed_par) + " assumed at $1.00"
                                 if self.book.assumed_par else "from the protocols' oracles") + ".",
        ]  # fmt: skip
        if not self.per_position_solved:
            notes.append(f"Per-position δ₁ not solved for depegs reaching more than {PER_POSITION_LIMIT} positions.")
        return {
            "meta": {
                "chain_id": meta.chain_id,
                "block": meta.block_number,
                "block_hash": meta.block_hash,
                "timestamp": pd.Timestamp(meta.block_timestamp, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
                "loopscan_version": meta.loopscan_version,
                "numeraire": getattr(meta, "numeraire", "USD"),
            },  # fmt: skip
            "nodes": list(self.nodes.values()),
            "edges": edges,
            "legend": {
                "colours": [[colour, text] for _, colour, text in BINS] + [[GREY, "no δ₁ (no position liquidates)"]],
                "shapes": [[kind, shape, text] for kind, (shape, text) in SHAPES.items()],
                "edges": [[kind, colour, text] for kind, (colour, text) in EDGES.items()],
                "notes": notes,
            },
        }

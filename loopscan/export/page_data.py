"""What the HTML page shows, as plain JSON-able values: nodes with their detail panels, edges,
legend and meta (`page_data`). The page only draws it; how it looks is `page_format`, where
nodes sit is `page_layout`. Per-position thresholds come from the result
(`ScanResult.position_thresholds`), not from the solver.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

from loopscan.export import page_format as fmt
from loopscan.export.page_layout import page_edges, place
from loopscan.model.views import market_collateral, position_collateral
from loopscan.protocols import registry
from loopscan.textsafe import terminal_safe

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = ["TOP_POSITIONS", "page_data"]

TOP_POSITIONS = 20  # positions listed per node
_THRESHOLD_NAMES = (
    ("first_liquidation_frac", "δ₁ first liquidation"),
    ("cascade_frac", "δ_c self-amplifying cascade"),
    ("bad_debt_frac", "δ_bd first bad debt"),
)
_SHOCKS = {"depeg": "market depeg of {}", "backing_loss": "loss of {}'s opaque backing"}


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
        self.decimals = {t.address: int(t.decimals) for t in snap.tokens.itertuples() if fmt.num(t.decimals) is not None}
        self.raw_symbol = {t.address: t.symbol for t in snap.tokens.itertuples()}
        self.vault = {v.vault: v for v in snap.vaults.itertuples()}
        self.vault_of_share = {v.share_token: v for v in snap.vaults.itertuples()}
        self.vault_rows = {row["vault"]: row for row in result.vaults.to_dict("records")} if len(result.vaults) else {}
        self.pyramid_rows = (
            {row["base"]: row for row in result.pyramids.to_dict("records")} if len(result.pyramids) else {}
        )
        # One collateral per market and position so far (views: `loopscan.model.views`).
        self.markets = {f"{m.protocol_address}:{m.market_id}": m for m in market_collateral(snap).itertuples()}
        # Markets of isolated-margin protocols: one collateral against the market's own debt.
        self.isolated = {k for k, m in self.markets.items() if registry.by_margin(m.protocol) == "isolated"}
        self.thresholds: dict[str, dict[str, dict]] = defaultdict(dict)
        for row in result.thresholds.to_dict("records"):
            self.thresholds[row["token"]][row["shock"]] = row
        self.positions = list(position_collateral(snap).itertuples())
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
            return terminal_safe(symbol, fmt.SYMBOL_LEN)
        return fmt.short(address)

    def usd(self, token: str, amount) -> float | None:
        price, decimals = self.p0.get(token), self.decimals.get(token)
        if price is None or decimals is None or amount is None:
            return None
        return int(amount) / 10**decimals * price

    def market_name(self, key: str) -> str:
        m = self.markets.get(key)
        if m is None:
            return fmt.short(key.rsplit(":", 1)[-1])
        if key in self.isolated:
            lltv = fmt.num(m.liquidation_threshold_wad)
            return f"{self.name(m.collateral_token)}/{self.name(m.loan_token)} · LLTV {fmt.pct(lltv / 1e18 if lltv is not None else None)}"
        return f"{self.name(m.loan_token)} reserve ({m.protocol})"

    def account_name(self, address: str) -> dict:
        if address in self.vault or address in self.raw_symbol:
            return fmt.cell(self.name(address), address)
        return fmt.cell(fmt.short(address), address)

    def token_depth(self, token: str, seen: tuple[str, ...] = ()) -> int:
        v = self.vault_of_share.get(token)
        if v is None or token in seen:
            return 0
        row = self.vault_rows.get(v.vault)
        if row is not None and fmt.num(row.get("depth")) is not None:
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
        return fmt.num(row["first_liquidation_frac"]) if row else None

    def _position_deltas(self) -> tuple[dict[tuple[str, str], tuple[float, str]], bool]:
        """(market key or pool, account) -> (δ₁ of that position, token whose depeg): the least
        over the tokens, from `ScanResult.position_thresholds`; and whether every token was solved."""
        out: dict[tuple[str, str], tuple[float, str]] = {}
        table = self.r.position_thresholds
        for row in table.itertuples():
            position = (row.position, row.account)
            if position not in out or row.first_liquidation_frac < out[position][0]:
                out[position] = (row.first_liquidation_frac, row.token)
        return out, not table.attrs["skipped_tokens"]

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
        ltv = debt / coll if coll and debt is not None and m is not None and key in self.isolated else None
        found = self.delta_of_position(p)
        delta = f"{fmt.pct(found[0])} ({self.name(found[1])})" if found else "—"
        row = [self.account_name(p.account)]
        if with_market:
            row.append(self.market_name(key))
        row += [
            fmt.usd(coll) if p.collateral_amount else "—",
            fmt.usd(debt) if p.debt_amount else "—",
            fmt.usd(supply) if p.supply_amount else "—",
            fmt.pct(ltv),
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
        return fmt.table(title, columns, [r for _, r in rows[:TOP_POSITIONS]], note=note, more=more)

    # -- sections ------------------------------------------------------------------------------

    def threshold_sections(self, token: str) -> list[dict]:
        out = []
        for shock, row in sorted(self.thresholds.get(token, {}).items(), key=lambda x: (x[0] != "depeg", x[0])):
            rows = [(label, fmt.pct(row[name], never="never (up to 100 %)")) for name, label in _THRESHOLD_NAMES]
            rows.append(
                (
                    "positions liquidatable at 100 %",
                    f"{int(row['positions_at_risk']):,} position{'s' if int(row['positions_at_risk']) != 1 else ''}",
                )
            )
            rows.append(("bad debt at 100 %", f"{fmt.usd(row['bad_debt_at_100pct_usd'])} (USD)"))
            rows.append(("liquidatable now (at the pin)", f"{int(row['liquidatable_now']):,} position(s)"))
            rows.append(("bad debt now", f"{fmt.usd(row['bad_debt_now_usd'])} (USD)"))
            if isinstance(row.get("not_computable"), str):
                rows.append(("not computable", row["not_computable"]))
            if isinstance(row.get("oracle_flags"), str):
                rows.append(("unclassified oracles (treated as market)", row["oracle_flags"]))
            if isinstance(row.get("unproven_on_node"), str):
                rows.append(("venues not proven on a node (unproven_on_node)", row["unproven_on_node"]))
            title = "Thresholds — " + _SHOCKS.get(shock, shock + " of {}").format(self.name(token))
            out.append(fmt.kv(title, rows))
        if not out:
            out.append(fmt.kv("Thresholds", [], note="No threshold: no position holds this token as collateral."))
        return out

    def losses_section(self, mask: pd.Series, title: str) -> dict | None:
        losses = self.r.losses[mask]
        if losses.empty:
            return None
        rows = []
        for row in losses.itertuples():
            rows.append([
                row.shock.replace("_", " "), self.account_name(row.lender),
                *(fmt.usd(v) for v in (row.loss_at_first_liquidation_usd, row.loss_at_cascade_usd, row.loss_at_bad_debt_usd,
                                       row.loss_at_100pct_usd)),
            ])  # fmt: skip
        columns = ["shock", "lender", "at δ₁ (USD)", "at δ_c (USD)", "at δ_bd (USD)", "at 100 % (USD)"]
        return fmt.table(title, columns, rows, note="New bad debt over the baseline, one basis point past each threshold.")

    def unwind_section(self, token: str, symbol: str) -> dict | None:
        """The depth table's rows of `token` (`ScanResult.depth`), if the solver can shock it."""
        depth = self.r.depth[self.r.depth["token"] == token]
        if depth.empty:
            return None
        pooled = isinstance(depth["exit_pool"].iloc[0], str)
        rows = []
        for d in depth.itertuples():
            ratio = d.liquidatable_to_absorbable
            shown = "not computable" if not pooled else "—" if ratio is None or ratio != ratio else "∞" if ratio == float("inf") else f"{ratio:.1f}×"
            rows.append([fmt.pct(d.level_frac), f"{int(d.liquidatable_positions):,}", fmt.usd(d.liquidatable_usd),
                         fmt.usd(d.absorbable_usd) if pooled else "no pool read", shown])  # fmt: skip
        columns = ["depeg / impact", "positions opened", "their collateral (USD)", "pool absorbs within it (USD)", "ratio"]
        return fmt.table(f"Unwind — {symbol}: collateral a further depeg opens against its pool's depth", columns, rows,
                         note="Before feedback; positions the baseline liquidates already are left out.")  # fmt: skip

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
            out.append([target, labels.get(row.kind, row.kind), fmt.pct(row.fraction)])
        return fmt.table("Look-through exposure", ["rests on", "kind", "share of assets (%)"], out,
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
            amount = fmt.units(row.amount, self.decimals.get(row.token), self.name(row.token))
            rows.append(
                (self.usd(row.token, row.amount) or 0.0, [where, amount, fmt.usd(self.usd(row.token, row.amount))])
            )
        rows.sort(key=lambda x: -x[0])
        return fmt.table("Holdings (what the vault holds on chain)", ["held as", "amount (token units)", "value (USD)"],
                      [r for _, r in rows[:TOP_POSITIONS]])  # fmt: skip

    # -- nodes ---------------------------------------------------------------------------------

    def add(self, node_id: str, kind: str, label: str, title: str, usd: float | None, delta: float | None,
            search: list[str], sections: list[dict], address: str | None = None) -> dict:  # fmt: skip
        node = {
            "id": node_id, "kind": kind, "label": label, "title": title, "address": address,
            "value_usd": usd, "value": fmt.usd(usd), "delta1": delta, "color": fmt.colour(delta),
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
                       ("price", f"{fmt.usd(price)} per token ({price_source})" if price is not None else "unknown")]  # fmt: skip
            sections: list[dict | None] = []
            if v is not None:
                usd = self.usd(v.asset, v.total_assets)
                row = self.vault_rows.get(v.vault, {})
                summary += [
                    ("vault kind", v.kind), ("underlying", self.name(v.asset)),
                    ("reported assets", f"{fmt.units(v.total_assets, self.decimals.get(v.asset), self.name(v.asset))} = {fmt.usd(usd)}"),
                    ("opaque assets", f"{fmt.units(v.opaque_assets, self.decimals.get(v.asset), self.name(v.asset))} ({fmt.pct(int(v.opaque_assets) / int(v.total_assets) if int(v.total_assets) else None)})"),
                ]  # fmt: skip
                if row:
                    summary += [("pyramid depth", f"{int(row['depth'])} level{'s' if int(row['depth']) != 1 else ''} above {self.name(row['base'])}"),
                                ("leverage multiplier", f"{float(row['multiplier']):.2f}× reported assets per unit of base"),
                                ("base fraction", fmt.pct(row["base_fraction"]))]  # fmt: skip
                sections.append(fmt.kv(f"Receipt — {symbol}", summary, note="Value: the vault's reported assets."))
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
                                ("receipts outstanding", f"{outstanding:,.2f} {symbol} = {fmt.usd(outstanding * price if price is not None else None)}"),
                                ("base held by the pyramid", f"{float(pyramid['base_held']):,.2f} {symbol} = {fmt.usd(parts[0])}"),
                                ("pyramid multiplier", f"{float(pyramid['multiplier']):.2f}× receipts per unit of base held")]  # fmt: skip
                sections.append(fmt.kv(f"Base token — {symbol}", summary,
                                    note="Value: the largest of the base held by its pyramid, supplied to markets, posted as collateral."))  # fmt: skip
                sections += self.threshold_sections(token)
                kind = "base"
            if by_collateral.get(token):
                sections.append(
                    self.positions_section(f"Positions with {symbol} as collateral", by_collateral[token], True)
                )
            sections.append(self.unwind_section(token, symbol))
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
            if key in self.isolated:
                lltv = fmt.num(m.liquidation_threshold_wad)
                summary += [("collateral token", self.name(m.collateral_token)),
                            ("LLTV", fmt.pct(lltv / 1e18 if lltv is not None else None))]  # fmt: skip
            elif fmt.num(m.liquidation_threshold_wad) is not None:
                summary.append(("liquidation threshold", fmt.pct(m.liquidation_threshold_wad / 1e18)))
            summary += [("oracle", oracle_note), ("supplied", fmt.usd(usd) + " (USD)"), ("borrowed", fmt.usd(borrowed) + " (USD)"),
                        ("utilisation", fmt.pct(borrow / supply if supply else None))]  # fmt: skip
            deltas = [self.delta_of_position(p) for p in by_market.get(key, [])]
            deltas = [d for d in deltas if d is not None]
            if deltas:
                d, token = min(deltas)
                delta, first = d, f"{fmt.pct(d)} depeg of {self.name(token)} (first of its positions, before any cascade)"
            elif not self.per_position_solved and self.delta1(m.collateral_token) is not None:
                delta = self.delta1(m.collateral_token)
                first = f"not solved per position here; {self.name(m.collateral_token)}'s first liquidation anywhere: {fmt.pct(delta)}"
            else:
                delta, first = None, "never: no depeg up to 100 % makes a position here liquidatable"
            summary.append(("δ₁ of this market", first))
            sections = [fmt.kv(f"Market — {name}", summary, note="Value: total supplied.")]
            if key in self.isolated:
                sections += [s for s in self.threshold_sections(m.collateral_token) if s["rows"]]
            sections.append(self.positions_section("Positions", by_market.get(key, []), False))
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
                   ("collateral posted", fmt.usd(coll) + " (USD)"), ("debt", fmt.usd(debt) + " (USD)"),
                   ("supplied", fmt.usd(supply) + " (USD)")]  # fmt: skip
        sections = [
            fmt.kv(f"Accounts — {name}", summary, note="Aggregated: every account with a position in this market, "
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
            summary = [("vault", share), ("opaque assets", f"{fmt.units(v.opaque_assets, self.decimals.get(v.asset), self.name(v.asset))} = {fmt.usd(usd)}"),
                       ("share of reported assets", fmt.pct(int(v.opaque_assets) / int(v.total_assets) if int(v.total_assets) else None))]  # fmt: skip
            sections = [fmt.kv(f"Opaque backing of {share}", summary,
                            note="Reported by the vault's manager, not visible on chain. Colour: δ₁ of a loss of this backing.")]  # fmt: skip
            sections += [
                s for s in self.threshold_sections(v.share_token) if s["title"].startswith("Thresholds — loss")
            ]
            self.add(f"opaque:{v.vault}", "opaque", f"opaque ({share})", f"Opaque backing of {share}", usd,
                     self.delta1(v.share_token, "backing_loss"), [share, "opaque", v.vault], sections)  # fmt: skip

    # -- all -----------------------------------------------------------------------------------

    def build(self) -> dict:
        self.token_nodes()
        self.market_nodes()
        self.opaque_nodes()
        edges = page_edges(self)
        place(self)
        values = [n["value_usd"] for n in self.nodes.values() if n["value_usd"] and n["value_usd"] > 0]
        lo, hi = max(min(values, default=1e3), 1e3), max(max(values, default=1e3), 1e3)
        for node in self.nodes.values():
            node["size"] = fmt.size(node["value_usd"], lo, hi)
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
            limit = self.r.position_thresholds.attrs["limit"]
            notes.append(f"Per-position δ₁ not solved for depegs reaching more than {limit} positions.")
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
                "colours": [[colour, text] for _, colour, text in fmt.BINS] + [[fmt.GREY, "no δ₁ (no position liquidates)"]],
                "shapes": [[kind, shape, text] for kind, (shape, text) in fmt.SHAPES.items()],
                "edges": [[kind, colour, text] for kind, (colour, text) in fmt.EDGES.items()],
                "notes": notes,
            },
        }

"""What the HTML page shows, as plain JSON-able values: nodes with their detail panels, edges,
legend and meta (`page_data`). The page only draws it; the panels' sections are `page_panels`,
how it looks is `page_format`, where nodes sit is `page_layout`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

from loopscan.export import page_format as fmt
from loopscan.export.page_layout import page_edges, place
from loopscan.export.page_panels import TOP_POSITIONS, Panels
from loopscan.report.coverage import coverage_lines

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = ["TOP_POSITIONS", "page_data"]


def page_data(result: ScanResult) -> dict:
    """Nodes (with preset positions, size, colour and the detail panel's sections), edges,
    legend and meta: everything the page draws, as plain JSON-able values."""
    return _Page(result).build()


class _Page(Panels):
    def __init__(self, result: ScanResult) -> None:
        super().__init__(result)
        self.nodes: dict[str, dict] = {}

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
            sections.append(self.haircut_section(token, symbol))
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
            *coverage_lines(self.snap),  # what was read and what not, before how to read the rest
            *(f"No exit: pool {pool} was read but cannot be priced at the pin ({why}); its depth is in no figure."
              for pool, why in sorted(self.book.unpriced_pools.items())),
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

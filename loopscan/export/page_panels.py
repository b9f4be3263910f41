"""The HTML page's detail panels: the sections a node's panel lists (thresholds, losses, unwind,
thresholds when liquidity leaves, exposure, holdings, positions), built from one reading of the
result (`Panels`) that the nodes (`page_data`) also use for names and values. Per-position
thresholds come from the result (`ScanResult.position_thresholds`), not from the solver.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

from loopscan.export import page_format as fmt
from loopscan.model.views import market_collateral, position_collateral
from loopscan.protocols import registry
from loopscan.report.units import not_computable_figures
from loopscan.solver.haircut import HAIRCUTS, haircut_column
from loopscan.textsafe import terminal_safe

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = ["TOP_POSITIONS", "Panels"]

TOP_POSITIONS = 20  # positions listed per node
_THRESHOLD_NAMES = (
    ("first_liquidation_frac", "δ₁ first liquidation"),
    ("cascade_frac", "δ_c self-amplifying cascade"),
    ("bad_debt_frac", "δ_bd first bad debt"),
)
_SHOCKS = {"depeg": "market depeg of {}", "backing_loss": "loss of {}'s opaque backing"}


class Panels:
    """One reading of a result: what every node and panel looks up (names, values, thresholds
    per token), and the panels' sections built from it."""

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
        kind = "credit manager" if registry.by_margin(m.protocol) == "account" else "reserve"
        return f"{self.name(m.loan_token)} {kind} ({m.protocol})"

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
                rows.append(("venues and lending markets not proven on a node (unproven_on_node)", row["unproven_on_node"]))
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

    def haircut_section(self, token: str, symbol: str) -> dict | None:
        """The token's depeg thresholds with 0, 50 and 90 % of every exit pool's liquidity gone
        (`ScanResult.haircut_thresholds`), if the solver can shock it."""
        table = self.r.haircut_thresholds
        rows = table[table["token"] == token]
        if rows.empty:
            return None
        r = rows.iloc[0]
        missing = not_computable_figures(self.thresholds[token]["depeg"].get("not_computable"))
        cells = [[label, *("not computable" if name.removesuffix("_frac") in missing
                           else fmt.pct(r[haircut_column(short, f)], never="never") for f in HAIRCUTS)]
                 for (name, label), short in zip(_THRESHOLD_NAMES, ("d1", "dc", "dbd"), strict=True)]  # fmt: skip
        return fmt.table(f"Thresholds when liquidity leaves — {symbol}", ["threshold", *(f"{round(f * 100)} % gone" for f in HAIRCUTS)],
                         cells, note="A market depeg after liquidity providers withdrew that share of every exit pool's liquidity.")  # fmt: skip

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

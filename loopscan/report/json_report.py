"""`--format json`: one object with stable keys, described by `schemas/scan-report.schema.json`.

`report_dict(result)` builds it, `dumps(result)` prints it. Conventions (the schema says the same
of every key):

* fractions are 0..1 (a depeg of 0.125 is 12.5 %); a threshold is a further shock from the
  state at the pin (`now` and `baseline` say what is breaking already), `null` where its
  condition never holds up to a 100 % shock, where that shock was not solved for the token (its
  `shocks` list says which were), or where it is not computable (`not_computable_*` says why);
* USD amounts are JSON numbers; raw on-chain amounts (uint256 / int256, in the token's smallest
  unit) are decimal strings, exact at any size;
* NaN and ±infinity never appear: they become `null` (`json.dumps(..., allow_nan=False)` holds);
* symbols are as read from the chain (anyone's text): JSON escapes them, and `dumps` writes
  ASCII only (`\\u` escapes), so no control character reaches a terminal raw;
* key order is fixed (the order below), and list order is deterministic: tokens by address,
  lenders as `ScanResult.losses`, vaults as the snapshot lists them.

    >>> print(dumps(result))                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import numbers

import pandas as pd

import loopscan
from loopscan.graph.loops import find_loops
from loopscan.result import ScanResult
from loopscan.solver.haircut import HAIRCUTS, haircut_column
from loopscan.solver.now import flagged

__all__ = ["SCHEMA_VERSION", "THRESHOLD_KEYS", "report_dict", "dumps"]

SCHEMA_VERSION = 2
METHODOLOGY = "docs/methodology.md"

THRESHOLD_KEYS = {
    "depeg": {"first_liquidation_frac": "first_liquidation_depeg", "cascade_frac": "cascade_depeg",
              "bad_debt_frac": "bad_debt_depeg", "positions_at_risk": "positions_at_risk",
              "bad_debt_at_100pct_usd": "bad_debt_at_full_depeg_usd", "not_computable": "not_computable_depeg"},
    "backing_loss": {"first_liquidation_frac": "first_liquidation_backing_loss", "cascade_frac": "cascade_backing_loss",
                     "bad_debt_frac": "bad_debt_backing_loss", "positions_at_risk": "positions_at_risk_backing_loss",
                     "bad_debt_at_100pct_usd": "bad_debt_at_full_backing_loss_usd",
                     "not_computable": "not_computable_backing_loss"},
}  # fmt: skip
"""ScanResult.thresholds column -> report key, per shock kind."""


def _num(value: object) -> float | None:
    """A finite float, or None (for None, NaN, NA and ±inf)."""
    if value is None or value is pd.NA or isinstance(value, str):
        return None
    value = float(value)  # type: ignore[arg-type]
    return value if math.isfinite(value) else None


def _int(value: object) -> int | None:
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value)  # type: ignore[arg-type]


def _amount(value: object) -> str | None:
    """A raw on-chain integer as its exact decimal string."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"raw amount {value!r} is not an integer")
    return str(int(value))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def report_dict(result: ScanResult) -> dict:
    """The report as plain JSON types (dict, list, str, int, float, bool, None)."""
    snap, meta = result.snapshot, result.snapshot.meta
    symbols = {a: _text(s) for a, s in zip(snap.tokens["address"], snap.tokens["symbol"], strict=True)}
    return {
        "schema_version": SCHEMA_VERSION,
        "loopscan_version": loopscan.__version__,
        "snapshot_loopscan_version": meta.loopscan_version,
        "chain_id": int(meta.chain_id),
        "block": int(meta.block_number),
        "block_hash": meta.block_hash,
        "block_timestamp": int(meta.block_timestamp),
        "snapshot_created_at": meta.created_at.isoformat(),
        "endpoint": meta.endpoint,  # SnapshotMeta holds it masked (the scanner masks it before storing)
        "numeraire": meta.numeraire,
        "methodology": METHODOLOGY,
        "tokens": _tokens(result, symbols),
        "lenders": _lenders(result, symbols),
        "pyramids": _pyramids(result, symbols),
        "vaults": _vaults(result, symbols),
        "loops": _loops(result, symbols),
        "depth": _depth(result),
        "now": _now(result),
        "baseline": _baseline(result),
        "missing": _missing(result),
        "unsolved_markets": [{"market": key, "reason": _text(why)} for key, why in sorted(result.solver.book.unsolved.items())],
        "unpriced_pools": [{"pool": pool, "reason": _text(why)} for pool, why in sorted(result.solver.book.unpriced_pools.items())],
        "coverage": result.coverage,
    }


def dumps(result: ScanResult, indent: int | None = 2) -> str:
    """The report as JSON text: fixed key order, ASCII only, never NaN or infinity."""
    return json.dumps(report_dict(result), indent=indent, allow_nan=False, ensure_ascii=True)


def _tokens(result: ScanResult, symbols: dict[str, str | None]) -> list[dict]:
    snap = result.snapshot
    info = {t.address: t for t in snap.tokens.itertuples()}
    oracle_flags = sorted({result.solver.book.markets[k].key for k in result.solver.book.unknown_oracles})
    haircuts = {
        r.token: [{"haircut": f, **{key: _num(getattr(r, haircut_column(short, f))) for key, short in _HAIRCUT_KEYS}}
                  for f in HAIRCUTS]
        for r in result.haircut_thresholds.itertuples()
    }  # fmt: skip
    by_token: dict[str, dict] = {}
    for row in result.thresholds.itertuples():
        entry = by_token.get(row.token)
        if entry is None:
            t = info.get(row.token)
            entry = by_token[row.token] = {
                "address": row.token,
                "symbol": symbols.get(row.token),
                "kind": _text(t.kind) if t is not None else None,
                "decimals": _int(t.decimals) if t is not None else None,
                "price_usd": _num(result.solver.book.p0.get(row.token)),
                "shocks": [],
                "liquidatable_now": _int(row.liquidatable_now),
                "bad_debt_now_usd": _num(row.bad_debt_now_usd),
                **{key: None for keys in THRESHOLD_KEYS.values() for key in keys.values()},
                "oracle_flags": oracle_flags,
                "depeg_when_liquidity_leaves": haircuts.get(row.token, []),
                "unproven_on_node": [],
            }
        entry["shocks"].append(row.shock)
        if isinstance(row.unproven_on_node, str):  # venues and lending markets a figure rests on that no node has checked
            entry["unproven_on_node"] = sorted(set(entry["unproven_on_node"]) | set(row.unproven_on_node.split(",")))
        for column, key in THRESHOLD_KEYS[row.shock].items():
            value = getattr(row, column)
            entry[key] = _int(value) if column == "positions_at_risk" else _text(value) if column == "not_computable" else _num(value)
    return [by_token[address] for address in sorted(by_token)]


def _lenders(result: ScanResult, symbols: dict[str, str | None]) -> list[dict]:
    share_of = {v.vault: v.share_token for v in result.snapshot.vaults.itertuples()}
    return [
        {
            "lender": x.lender,
            "symbol": symbols.get(x.lender) or symbols.get(share_of.get(x.lender, "")),
            "shocked_token": x.token,
            "shocked_symbol": symbols.get(x.token),
            "shock_kind": x.shock,
            **{column: _num(getattr(x, column)) for column in _LOSS_AT},
        }
        for x in result.losses.itertuples()
    ]


_HAIRCUT_KEYS = (("first_liquidation_depeg", "d1"), ("cascade_depeg", "dc"), ("bad_debt_depeg", "dbd"))
_LOSS_AT = ("loss_at_first_liquidation_usd", "loss_at_cascade_usd", "loss_at_bad_debt_usd", "loss_at_100pct_usd")


def _now(result: ScanResult) -> dict:
    now, markets = result.now, result.markets_now
    return {
        "positions": [
            {
                "position": p.position, "protocol": p.protocol, "account": p.account,
                "collateral": [c for c in p.collateral.split("+") if c], "loan": [t for t in p.loan.split("+") if t],
                "debt_usd": _num(p.debt_usd), "collateral_usd": _num(p.collateral_usd), "health": _num(p.health),
                "liquidatable_now": bool(p.liquidatable_now), "liquidation_blocked": _text(p.liquidation_blocked),
                "blocked_reserves": _text(p.blocked_reserves).split("+") if _text(p.blocked_reserves) else [],
                "bad_debt_now_usd": _num(p.bad_debt_now_usd),
            }
            for p in flagged(now).itertuples()
        ],
        "lenders_stuck": [
            {"market": m.market, "protocol": m.protocol, "loan": m.loan, "utilisation": _num(m.utilisation_frac)}
            for m in markets.itertuples() if m.lenders_stuck
        ],
        "shortfalls": [
            {"market": m.market, "protocol": m.protocol, "loan": m.loan,
             "shortfall": _num(m.shortfall), "shortfall_usd": _num(m.shortfall_usd)}
            for m in markets.itertuples() if m.shortfall > 0
        ],
    }  # fmt: skip


def _depth(result: ScanResult) -> list[dict]:
    return [
        {
            "token": d.token, "symbol": _text(d.symbol), "level": _num(d.level_frac), "exit_pool": _text(d.exit_pool),
            "absorbable_usd": _num(d.absorbable_usd) if isinstance(d.exit_pool, str) else None,
            "liquidatable_positions": int(d.liquidatable_positions), "liquidatable_usd": _num(d.liquidatable_usd),
            "liquidatable_to_absorbable": _num(d.liquidatable_to_absorbable),
            "no_depth": bool(isinstance(d.exit_pool, str) and d.liquidatable_positions and not d.absorbable_usd),
            "unproven_on_node": d.unproven_on_node.split(",") if isinstance(d.unproven_on_node, str) else [],
        }
        for d in result.depth.itertuples()
    ]  # fmt: skip


def _baseline(result: ScanResult) -> dict:
    base = result.baseline
    return {
        "liquidations": len(base.liquidation_rows),
        "rounds": int(base.rounds_run),
        "seized_usd": _num(sum(row[-1] for row in base.liquidation_rows)),
        "bad_debt_usd": _num(base.bad_debt),
    }


def _pyramids(result: ScanResult, symbols: dict[str, str | None]) -> list[dict]:
    p0 = result.solver.book.p0
    out = []
    for p in result.pyramids.itertuples():
        price = _num(p0.get(p.base))
        outstanding, held = _num(p.receipts_outstanding), _num(p.base_held)
        out.append(
            {
                "base": p.base, "symbol": symbols.get(p.base), "vaults": int(p.vaults), "depth": int(p.depth),
                "receipts_outstanding": outstanding, "base_held": held,
                "receipts_outstanding_usd": _num(outstanding * price) if outstanding is not None and price is not None else None,
                "base_held_usd": _num(held * price) if held is not None and price is not None else None,
                "multiplier": _num(p.multiplier),
            }
        )  # fmt: skip
    return out


def _vaults(result: ScanResult, symbols: dict[str, str | None]) -> list[dict]:
    summary = {v.vault: v for v in result.vaults.itertuples()} if len(result.vaults) else {}
    decimals = dict(zip(result.snapshot.tokens["address"], result.snapshot.tokens["decimals"], strict=True))
    out = []
    for v in result.snapshot.vaults.itertuples():
        s = summary.get(v.vault)
        total = int(v.total_assets)
        out.append(
            {
                "address": v.vault, "share_token": v.share_token, "symbol": symbols.get(v.share_token),
                "kind": v.kind, "asset": v.asset, "asset_symbol": symbols.get(v.asset),
                "asset_decimals": _int(decimals.get(v.asset)),
                "total_assets": _amount(v.total_assets), "total_supply": _amount(v.total_supply),
                "visible_assets": _amount(v.visible_assets), "opaque_assets": _amount(v.opaque_assets),
                "own_opaque_fraction": _num(int(v.opaque_assets) / total) if total > 0 else None,
                "base": s.base if s is not None and isinstance(s.base, str) else None,
                "base_symbol": symbols.get(s.base) if s is not None and isinstance(s.base, str) else None,
                "total_assets_in_base": _num(s.total_assets_in_base) if s is not None else None,
                "base_fraction": _num(s.base_fraction) if s is not None else None,
                "opaque_fraction": _num(s.opaque_fraction) if s is not None else None,
                "multiplier": _num(s.multiplier) if s is not None else None,
                "depth": _int(s.depth) if s is not None else None,
            }
        )  # fmt: skip
    return out


def _loops(result: ScanResult, symbols: dict[str, str | None]) -> list[dict]:
    found = find_loops(result.graph) if len(result.loops) else []
    if len(found) != len(result.loops):  # loop_table lists find_loops in order; anything else is a bug upstream
        raise RuntimeError(f"{len(result.loops)} loops in the table, {len(found)} in the graph")
    return [
        {
            "loop": row.loop,
            "tokens": list(loop.tokens),
            "symbols": [symbols.get(t) for t in loop.tokens],
            "steps": list(loop.steps),
            "markets": [m.removeprefix("market:") for m in loop.markets],
            "loopers": int(row.loopers),
            "leverage": _num(row.leverage),
        }
        for row, loop in zip(result.loops.itertuples(), found, strict=True)
    ]


def _missing(result: ScanResult) -> dict:
    rows = result.snapshot.missing
    return {
        "count": len(rows),
        "reads": [
            {
                "kind": _text(r.kind),
                "address": _text(r.address),
                "key": _text(r.key),
                "method": _text(r.method),
                "reason": _text(r.reason),
                "block": _int(r.block),
            }
            for r in rows.itertuples()
        ],  # fmt: skip
    }

"""`--format json`: one object with stable keys, described by `schemas/scan-report.schema.json`.

Fractions are 0..1 and `null` where the condition never holds up to a 100 % shock; USD amounts
are floats; uint256 amounts are decimal strings; NaN and infinity never appear (`null`).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from loopscan.result import ScanResult

__all__ = ["SCHEMA_VERSION", "report_dict", "dumps"]

SCHEMA_VERSION = 1


def _num(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def report_dict(result: ScanResult) -> dict:
    meta = result.snapshot.meta
    symbols = result.solver.book.symbols
    kinds = dict(zip(result.snapshot.tokens["address"], result.snapshot.tokens["kind"], strict=True))
    tokens: dict[str, dict] = {}
    for r in result.thresholds.itertuples():
        entry = tokens.setdefault(r.token, {"address": r.token, "symbol": symbols.get(r.token), "kind": kinds.get(r.token),
                                            "first_liquidation_depeg": None, "cascade_depeg": None, "bad_debt_depeg": None,
                                            "positions_at_risk": 0, "oracle_flags": None})  # fmt: skip
        prefix = "" if r.shock == "depeg" else "backing_loss_"
        suffix = "_depeg" if r.shock == "depeg" else ""
        entry[f"{prefix}first_liquidation{suffix}"] = _num(r.first_liquidation_frac)
        entry[f"{prefix}cascade{suffix}"] = _num(r.cascade_frac)
        entry[f"{prefix}bad_debt{suffix}"] = _num(r.bad_debt_frac)
        if r.shock == "depeg":
            entry["positions_at_risk"] = int(r.positions_at_risk)
            entry["oracle_flags"] = r.oracle_flags
    return {
        "schema_version": SCHEMA_VERSION,
        "loopscan_version": meta.loopscan_version,
        "chain_id": meta.chain_id,
        "block": meta.block_number,
        "block_hash": meta.block_hash,
        "block_timestamp": meta.block_timestamp,
        "endpoint": meta.endpoint,
        "tokens": list(tokens.values()),
        "lenders": [
            {"lender": x.lender, "symbol": x.lender_symbol if isinstance(x.lender_symbol, str) else None, "market": x.market,
             "shocked_token": x.token, "shock_kind": x.shock, "threshold": x.threshold, "shock": _num(x.shock_frac),
             "realized_bad_debt_usd": _num(x.realized_bad_debt_usd), "hidden_bad_debt_usd": _num(x.hidden_bad_debt_usd)}
            for x in result.losses.itertuples()
        ],  # fmt: skip
        "pyramids": [
            {"base": p.base, "symbol": p.base_symbol, "vaults": int(p.vaults), "depth": int(p.depth),
             "receipts_outstanding": _num(p.receipts_outstanding), "base_held": _num(p.base_held), "multiplier": _num(p.multiplier)}
            for p in result.pyramids.itertuples()
        ],  # fmt: skip
        "vaults": [
            {"address": v.vault, "symbol": v.symbol, "depth": int(v.depth), "base": v.base, "base_fraction": _num(v.base_fraction),
             "opaque_fraction": _num(v.opaque_fraction), "multiplier": _num(v.multiplier)}
            for v in result.vaults.itertuples()
        ],  # fmt: skip
        "loops": [{"loop": lp.loop, "steps": lp.steps, "loopers": int(lp.loopers), "leverage": _num(lp.leverage)}
                  for lp in result.loops.itertuples()],  # fmt: skip
        "missing": {"count": len(result.snapshot.missing),
                    "reads": [{k: (None if pd.isna(v) else v) for k, v in row.items() if k != "block"}
                              for row in result.snapshot.missing.to_dict("records")]},  # fmt: skip
        "methodology": "docs/methodology.md",
    }


def dumps(result: ScanResult) -> str:
    return json.dumps(report_dict(result), indent=2, allow_nan=False)

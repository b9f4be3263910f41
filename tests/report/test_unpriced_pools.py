"""A pool read at the pin that no venue's maths can price is named in every report (terminal, JSON, HTML
page), never dropped in silence."""

from __future__ import annotations

from rich.console import Console

from loopscan.export.page_data import page_data
from loopscan.report.json_report import report_dict
from loopscan.report.risk_report import print_risk_report
from loopscan.result import analyse
from tests.report.test_json_report import VALIDATOR
from tests.solver.test_exits import CURVE_POOL, curve_snapshot

WHY = "curve: _get_D: a zero balance divides by zero"


def test_the_report_names_a_pool_it_cannot_price() -> None:
    _, snap = curve_snapshot(10**6)
    snap.pool_coins.loc[snap.pool_coins["coin_index"] == 1, "balance"] = 0
    result = analyse(snap)
    report = report_dict(result)
    VALIDATOR.validate(report)
    assert report["unpriced_pools"] == [{"pool": CURVE_POOL, "reason": WHY}]
    console = Console(width=400, record=True, color_system=None)
    print_risk_report(console, result)
    assert f"no exit: pool {CURVE_POOL} was read but cannot be priced at the pin ({WHY}); its depth is in no figure" in console.export_text()
    note = f"No exit: pool {CURVE_POOL} was read but cannot be priced at the pin ({WHY}); its depth is in no figure."
    assert note in page_data(result)["legend"]["notes"]

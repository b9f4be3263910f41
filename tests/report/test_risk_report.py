"""The report a person reads, on stream-2025 after its write-down, at 80 and 120 columns: the
headline first, what is breaking now apart, no figure cut off, attacker text escaped."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import pytest
from rich.console import Console

from loopscan.chains import from_devnet_manifest
from loopscan.report.risk_report import print_risk_report, riskiest_positions
from loopscan.report.units import pct
from loopscan.result import analyse
from loopscan.scanner import index_async
from loopscan.solver.haircut import HAIRCUTS, haircut_column

pytestmark = pytest.mark.devnet
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
ACCOUNT = re.compile(r"0x[0-9a-f]{4}…[0-9a-f]{4}")


@pytest.fixture
def written_down(stream):
    stream.apply("xusd-market-down-5")
    stream.apply("writedown")
    return analyse(asyncio.run(index_async(stream.url, deployments=from_devnet_manifest(stream.manifest))))


@pytest.mark.parametrize("width", [80, 120])
def test_the_report_fits_and_leads_with_the_headline(written_down, width):
    console = Console(width=width, record=True, highlight=False, color_system=None)
    print_risk_report(console, written_down)
    text = console.export_text()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report-writedown-{width}.txt").write_text(text)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    # nothing cut short but account addresses, which are written 0x0b96…a1f5 on purpose
    assert not [line for line in lines if "…" in ACCOUNT.sub("", line)]
    order = [next(i for i, line in enumerate(lines) if line.startswith(title)) for title in
             ("Where it breaks", "Now, at the pin", "baseline (no further shock)", "Pyramids", "Thresholds when liquidity leaves",
              "Riskiest positions")]  # fmt: skip
    assert order == sorted(order)
    rows = {tuple(cell.strip() for cell in line.strip("│").split("│")) for line in lines if line.startswith("│")}
    # Gearbox's feeds are classified (no ¹ flag): its sdeUSD feed is the vault's book value, which a
    # depeg of sdeUSD's market does not move. Morpho's looper opens at 12.80 %; the Gearbox account's
    # collateral falls below what it owes at 1 − 3.5 / (4 × 1.075) = 18.60 %, a loss no one liquidates.
    assert ("sdeUSD", "depeg", "12.80 %", "never", "18.61 %", "0", "$0") in rows
    # Morpho's loopers' $16.10M, and Gearbox's two xUSD accounts' $1.38M: their feed still reads $1.2065
    assert ("xUSD", "depeg", "never", "never", "33.38 %", "1", "$17.5M") in rows
    assert "¹" not in text
    assert ("xUSD", "morpho_blue", "0x9cc0…0adc", "$68.0M", "0.762", "yes", "$10.3M") in rows  # Stream's treasury


def test_riskiest_positions_name_their_collateral_apart_from_the_shocked_token(written_down):
    risky = riskiest_positions(written_down)
    # Gearbox's sdeUSD account is not among them: its feed is sdeUSD's book value, which no depeg moves.
    assert risky[["shocked_token", "collateral", "protocol"]].values.tolist() == [["sdeUSD", "sdeUSD", "morpho_blue"]]
    assert risky["depeg_to_liquidation"].tolist() == [pytest.approx(0.1280, abs=1e-4)]


FIGURES = (("δ₁", "first_liquidation_frac", "d1"), ("δ_c", "cascade_frac", "dc"), ("δ_bd", "bad_debt_frac", "dbd"))


def test_thresholds_when_liquidity_leaves_are_the_haircut_scans(written_down):
    """The table sets each token's δ₁, δ_c, δ_bd at 0, 50 and 90 % of its exit pools' liquidity gone
    side by side: 0 % is the headline, 50 % and 90 % what `analyse(liquidity_haircut=F)` solves."""
    console = Console(width=80, record=True, highlight=False, color_system=None)
    print_risk_report(console, written_down)
    text = console.export_text()
    table = text[text.index("Thresholds when liquidity leaves") :]
    table = table[: table.index("└")]
    rows = [tuple(c.strip() for c in line.strip("│").split("│")) for line in table.splitlines() if line.startswith("│")]
    haircuts = written_down.haircut_thresholds.set_index("token")
    solved = {f: analyse(written_down.snapshot, liquidity_haircut=f).thresholds for f in HAIRCUTS[1:]}
    solved[0.0] = written_down.thresholds
    symbols = []
    for token, r in haircuts.iterrows():
        symbols.append(r["symbol"])
        for label, name, short in FIGURES:
            for f, thresholds in solved.items():
                row = thresholds[(thresholds["token"] == token) & (thresholds["shock"] == "depeg")].iloc[0]
                value = r[haircut_column(short, f)]
                assert value == row[name] or (math.isnan(value) and math.isnan(row[name])), (r["symbol"], label, f)
            shown = (r["symbol"] if label == "δ₁" else "", label, *(pct(r[haircut_column(short, f)]) for f in HAIRCUTS))
            assert shown in rows
    assert sorted(symbols) == ["sdeUSD", "xUSD"]
    # Real values: on this chain no threshold moves with the pools' depth (docs/methodology.md, "Depth
    # that leaves": xUSD's pool is too thin already, no other token's liquidations move its price).
    assert ("sdeUSD", "δ₁", "12.80 %", "12.80 %", "12.80 %") in rows
    assert ("", "δ_bd", "33.38 %", "33.38 %", "33.38 %") in rows and ("xUSD", "δ₁", "never", "never", "never") in rows

"""The report a person reads, on stream-2025 after its write-down, at 80 and 120 columns: the
headline first, what is breaking now apart, no figure cut off, attacker text escaped."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rich.console import Console

from loopscan.chains import from_devnet_manifest
from loopscan.report.risk_report import print_risk_report, riskiest_positions
from loopscan.result import analyse
from loopscan.scanner import index_async

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
             ("Where it breaks", "Now, at the pin", "baseline (no further shock)", "Pyramids", "Riskiest positions")]  # fmt: skip
    assert order == sorted(order)
    rows = {tuple(cell.strip() for cell in line.strip("│").split("│")) for line in lines if line.startswith("│")}
    assert ("sdeUSD", "depeg", "12.80 %", "never", "21.72 %", "0", "$0") in rows  # its one looper, 12.80 % away
    assert ("xUSD", "depeg", "never", "never", "33.38 %", "1", "$16.1M") in rows
    assert ("xUSD", "morpho_blue", "0x9cc0…0adc", "$68.0M", "0.762", "yes", "$10.3M") in rows  # Stream's treasury


def test_riskiest_positions_name_their_collateral_apart_from_the_shocked_token(written_down):
    risky = riskiest_positions(written_down)
    assert risky[["shocked_token", "collateral", "protocol"]].values.tolist() == [["sdeUSD", "sdeUSD", "morpho_blue"]]
    assert risky["depeg_to_liquidation"].tolist() == [pytest.approx(0.1280, abs=1e-4)]

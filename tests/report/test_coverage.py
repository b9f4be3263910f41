"""Coverage said out loud: every report says what the scan read and what it did not, and
stream-2025's report says where the rest of xUSD's debt sat, apart from every computed figure."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from loopscan import devnet
from loopscan.chains import from_devnet_manifest
from loopscan.cli import main
from loopscan.devnet.scenario import SCENARIOS_DIR, load_scenario
from loopscan.export.page_data import page_data
from loopscan.model import Snapshot, SnapshotMeta
from loopscan.protocols import registry
from loopscan.report.coverage import coverage_lines
from loopscan.report.json_report import report_dict
from loopscan.report.risk_report import print_risk_report
from loopscan.result import analyse
from loopscan.scanner import index_async

NOT_LISTED = "not listed in the deployments for this chain"
OFF_DEVNET = ("not on this devnet (recorded by the scenario, in no figure): $170.4M of debt against xUSD on Euler v2, Silo and "
              "Morpho markets not modelled here (source: YAM's ~$285M of direct xUSD debt (curators' post-mortems, 2025-11-04/05) "
              "less the $114.6M this devnet holds)")  # fmt: skip


def _report(result, width: int = 1000) -> str:
    console = Console(width=width, record=True, highlight=False, color_system=None)
    print_risk_report(console, result)
    return console.export_text()


@pytest.mark.devnet
def test_stream_coverage_names_what_was_read_and_why_the_rest_was_not(stream_result):
    cov = stream_result.coverage
    assert cov["recorded"]
    held = {e["protocol"]: (e["markets"], e["positions"], e["vaults"], e["pools"]) for e in cov["read"]}
    assert held == {"morpho_blue": (4, 9, 0, 0), "metamorpho": (0, 0, 1, 0), "erc4626": (0, 0, 3, 0), "uniswap_v3": (0, 0, 0, 2),
                    "gearbox": (1, 4, 1, 0)}  # three credit accounts, and the pool (a vault) that lends to them  # fmt: skip
    # The counts are the snapshot's own rows.
    snap = stream_result.snapshot
    assert (len(snap.markets), len(snap.positions), len(snap.vaults), len(snap.pools)) == (5, 13, 5, 2)
    assert {e["protocol"]: (e["reason"], e["proven_on_node"]) for e in cov["not_read"]} == {
        "aave_v3": (NOT_LISTED, True), "spark": (NOT_LISTED, True), "curve": (NOT_LISTED, False),
        "compound_v3": (NOT_LISTED, False), "euler_v2": (NOT_LISTED, False), "pendle": (NOT_LISTED, True),
    }  # fmt: skip
    assert cov["off_devnet"] == [{
        "lender": "Euler v2, Silo and Morpho markets not modelled here", "token": "xUSD", "token_address": snap.token_address("xUSD"),
        "debt_usd": 170_400_000.0,
        "source": "YAM's ~$285M of direct xUSD debt (curators' post-mortems, 2025-11-04/05) less the $114.6M this devnet holds",
    }]  # fmt: skip


@pytest.mark.devnet
def test_the_report_states_coverage_before_any_figure_and_off_devnet_debt_apart(stream_result):
    lines = [line.rstrip() for line in _report(stream_result).splitlines()]
    assert lines[:4] == [
        "coverage: read morpho_blue (4 markets, 9 positions), metamorpho (1 vault), erc4626 (3 vaults), uniswap_v3 (2 pools), "
        "gearbox (1 market, 4 positions, 1 vault); not read: aave_v3, spark, curve (unproven_on_node), compound_v3 (unproven_on_node), "
        f"euler_v2 (unproven_on_node), pendle ({NOT_LISTED})",
        "no figure rests on code not proven on a node (compound_v3, curve, euler_v2: unproven_on_node, not read)",
        OFF_DEVNET,
        "Where it breaks: further shock of each token from the state at the pin",
    ]  # fmt: skip
    text = _report(stream_result, 80)
    assert max(len(line) for line in text.splitlines()) <= 80 and "$170.4M" in text


@pytest.mark.devnet
def test_off_devnet_debt_is_in_no_figure(stream_result):
    """The same snapshot without any coverage recorded solves to the same figures, to the bit."""
    snap = stream_result.snapshot
    bare = analyse(Snapshot(dataclasses.replace(snap.meta, coverage=None), **snap.tables()))
    pd.testing.assert_frame_equal(bare.thresholds, stream_result.thresholds)
    pd.testing.assert_frame_equal(bare.losses, stream_result.losses)
    assert bare.coverage == {"recorded": False, "read": [], "not_read": [], "off_devnet": []}
    assert coverage_lines(bare.snapshot) == [
        "coverage: not recorded in this snapshot (read by an older loopscan, or kept by the history store)"]


@pytest.mark.devnet
def test_json_and_page_carry_the_coverage(stream_result):
    report = report_dict(stream_result)
    assert report["coverage"] == stream_result.coverage
    assert report["coverage"]["off_devnet"][0]["debt_usd"] == 170_400_000.0
    notes = page_data(stream_result)["legend"]["notes"]
    assert notes[: len(coverage_lines(stream_result.snapshot))] == coverage_lines(stream_result.snapshot)
    assert OFF_DEVNET in notes


@pytest.mark.devnet
def test_a_narrowed_scan_says_what_it_left_out(stream):
    snap = asyncio.run(index_async(stream.url, deployments=from_devnet_manifest(stream.manifest),
                                   protocols=["morpho_blue", "gearbox", "uniswap_v3"]))  # fmt: skip
    (line, *_) = coverage_lines(snap)
    assert line == (
        "coverage: read morpho_blue (4 markets, 9 positions), uniswap_v3 (2 pools), gearbox (1 market, 4 positions, 1 vault); not read: "
        "metamorpho, erc4626 (left out by --protocols); aave_v3, spark, curve (unproven_on_node), compound_v3 (unproven_on_node), "
        f"euler_v2 (unproven_on_node), pendle ({NOT_LISTED})"
    )  # fmt: skip


@pytest.mark.devnet
def test_coverage_survives_the_parquet_round_trip(stream_result, tmp_path):
    snap = stream_result.snapshot
    back = Snapshot.from_parquet(snap.to_parquet(tmp_path / "snap"))
    assert back.meta == snap.meta and coverage_lines(back) == coverage_lines(snap)
    # A snapshot written before coverage was recorded still loads, and says so.
    meta_file = tmp_path / "snap" / "snapshot.json"
    document = json.loads(meta_file.read_text())
    del document["meta"]["coverage"]
    meta_file.write_text(json.dumps(document))
    assert Snapshot.from_parquet(tmp_path / "snap").meta.coverage is None


def test_a_protocol_read_but_not_solved_says_so(monkeypatch):
    """A lending package the solver does not apply yet (`solved=False`: none is, since Euler v2 and
    Compound v3 were solved; Euler stands in for the next) is read only when named: its counts carry
    that it is in no threshold."""
    specs = dict(registry.all_specs())
    specs["euler_v2"] = dataclasses.replace(specs["euler_v2"], solved=False)
    monkeypatch.setattr(registry, "all_specs", lambda: specs)
    meta = SnapshotMeta(chain_id=1, block_number=1, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="test",
                        coverage={"read": {"euler_v2": {"markets": 2}}, "not_read": {}, "off_devnet": []})  # fmt: skip
    assert coverage_lines(Snapshot.empty(meta))[0] == (
        "coverage: read euler_v2 (2 markets, read but not solved by the solver: in no threshold, unproven_on_node); "
        "not read: nothing")


def test_a_protocol_solved_but_not_proven_on_a_node_says_so():
    """Compound v3 is solved (its accounts are in the thresholds) on rules no node has run: read by
    default, its counts carry only `unproven_on_node`, and the next line says what that means."""
    meta = SnapshotMeta(chain_id=1, block_number=1, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="test",
                        coverage={"read": {"compound_v3": {"markets": 1, "positions": 2}}, "not_read": {}, "off_devnet": []})  # fmt: skip
    first, second = coverage_lines(Snapshot.empty(meta))
    assert first == "coverage: read compound_v3 (1 market, 2 positions, unproven_on_node); not read: nothing"
    assert second.startswith("unproven_on_node: figures resting on compound_v3 follow published code no package here deploys")


def test_scenario_text_in_the_coverage_is_escaped():
    evil = "xUSD\x1b[2J\u202e"
    meta = SnapshotMeta(chain_id=1, block_number=1, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="test", coverage={
        "read": {}, "not_read": {}, "off_devnet": [{"lender": "L\x1b]8;;", "token": evil, "token_address": "0x" + "1" * 40,
                                                    "debt_usd": 1.5e6, "source": "s\u2028"}]})  # fmt: skip
    lines = coverage_lines(Snapshot.empty(meta))
    assert lines[-1] == ("not on this devnet (recorded by the scenario, in no figure): $1.5M of debt against xUSD\\x1b[2J\\u202e "
                         "on L\\x1b]8;; (source: s\\u2028)")  # fmt: skip
    assert lines[0] == "coverage: read nothing; not read: nothing"


def test_an_off_devnet_entry_is_checked_when_the_scenario_loads(tmp_path):
    text = (SCENARIOS_DIR / "stream-2025.toml").read_text()
    path = tmp_path / "broken.toml"
    assert 'token = "xUSD"\ndebt_usd' in text
    path.write_text(text.replace('token = "xUSD"\ndebt_usd', 'token = "yUSD"\ndebt_usd', 1))
    with pytest.raises(devnet.ScenarioError, match=r"broken.toml: off_devnet\[1\]: unknown token 'yUSD' in `token`"):
        load_scenario(path)
    assert load_scenario("stream-2025").off_devnet[0]["debt_usd"] == 170_400_000


@pytest.mark.devnet
def test_loopscan_demo_and_thresholds_print_the_coverage(stream_result, tmp_path, monkeypatch):
    """What a user reads after `loopscan demo`, and `loopscan thresholds` of its saved snapshot."""
    monkeypatch.setattr("loopscan.cli.console", Console(width=1000, highlight=False))  # one line per line
    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    lines = [line.rstrip() for line in demo.output.splitlines()]
    for line in coverage_lines(stream_result.snapshot):
        assert line in lines
    assert lines.index(OFF_DEVNET) < next(i for i, line in enumerate(lines) if line.startswith("Where it breaks"))
    saved = runner.invoke(main, ["thresholds", str(tmp_path / "demo" / "snapshot")])
    assert saved.exit_code == 0, saved.output
    assert [line.rstrip() for line in saved.output.splitlines()][:3] == coverage_lines(stream_result.snapshot)

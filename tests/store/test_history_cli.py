"""`loopscan history` over a hand-written history, and the monitor's start-up errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_history_store import B, record

from loopscan.cli import main
from loopscan.store import ScanRecord, Store, write_scan

HOSTILE = "vx\x1b[2J[red]"


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "h.duckdb"
    with Store.open(path) as store:
        for i, value in enumerate((0.1257, 0.0797, 0.0)):
            rec = record(f"s{i}", minutes=i, value=value)
            metrics = rec.metrics.assign(label=HOSTILE)
            snap = replace(rec.snapshot, meta=replace(rec.snapshot.meta, block_number=114 + i))
            with store.transaction() as con:
                write_scan(con, ScanRecord(**{**rec.__dict__, "metrics": metrics, "snapshot": snap}))
    return path


def test_history_prints_each_scan_escaped_and_plots(history: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["history", "--store", str(history), "--token", B, "--plot", str(tmp_path / "h.png")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "vx\\x1b[2J[red]" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert [r.split("│")[3].strip() for r in rows] == ["12.57%", "7.97%", "0.00%"]
    assert [r.split("│")[4].strip() for r in rows] == ["none"] * 3  # δ_bd never reached in these scans
    assert (tmp_path / "h.png").stat().st_size > 10_000


def test_history_lists_scans_and_exports_a_snapshot(history: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    scans = runner.invoke(main, ["history", "scans", "--store", str(history)])
    ids = [line.split("│")[1].strip() for line in scans.output.splitlines() if line.startswith("│")]
    assert scans.exit_code == 0 and [i for i in ids if i] == ["s0", "s1", "s2"]  # cells wrap at 80 columns
    out = tmp_path / "snap"
    exported = runner.invoke(main, ["history", "snapshot", "s1", "--store", str(history), "--out", str(out)])
    assert exported.exit_code == 0 and "block 115" in exported.output
    assert runner.invoke(main, ["thresholds", str(out)]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["history", "--store", "nowhere.duckdb"], 1, "error: nowhere.duckdb: no history there"),
        (["history", "snapshot", "s9", "--store", "{store}", "--out", "x"], 1, "error: no scan 's9' in the history"),
        (["history", "--store", "{store}", "--token", "nope"], 1, "no scans of nope"),
        (["history", "--store", "{store}", "--since", "yesterday"], 2, "neither an ISO date/time nor an age"),
        (["monitor", "--rpc", "http://127.0.0.1:9", "--every", "5q"], 2, "'5q' is not a duration"),
        (["monitor", "--rpc", "http://127.0.0.1:9", "--every", "1m", "--every-blocks", "3"], 2, "not both"),
        (["monitor", "--rpc", "http://127.0.0.1:9", "--rules", "{rules}"], 1, "rules.toml: rule 1: needs a `name`"),
    ],
)  # fmt: skip
def test_errors_are_one_line(history: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nmetric = 'opaque_frac'\n")
    result = CliRunner().invoke(main, [a.format(store=history, rules=rules) for a in args])
    assert result.exit_code == code and message in " ".join(result.output.split()), result.output


def test_a_taken_metrics_port_is_one_line(tmp_path: Path) -> None:
    import socket

    import loopscan.chains

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        mainnet = Path(loopscan.chains.__file__).parent / "mainnet.toml"
        result = CliRunner().invoke(main, ["monitor", "--rpc", "http://127.0.0.1:9", "--deployments", str(mainnet), "--metrics-port",
                                           str(port), "--store", str(tmp_path / "h.duckdb"), "--ticks", "1"])  # fmt: skip
    assert result.exit_code == 1 and f"error: cannot serve metrics on 127.0.0.1:{port}: Address already in use" in result.output

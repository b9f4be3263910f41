"""A token is named by its symbol or its address wherever loopscan takes one; an unknown name is an
error naming it, an ambiguous symbol one listing the candidates (symbols are anyone's to take)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from literal_snapshots import snapshot as snap
from literal_snapshots import token

from loopscan.cli import main
from loopscan.model import NotInSnapshotError

A, B, C = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20


def test_symbol_address_and_case():
    s = snap({"tokens": [token(A, "xUSD"), token(B, "XUSD"), token(C, "deUSD")]})
    assert s.token_address("xUSD") == A and s.token_address("XUSD") == B  # an exact symbol first
    assert s.token_address("deusd") == C  # else the one symbol equal ignoring case
    assert s.token_address(A.upper().replace("0X", "0x")) == A and s.token_address(f" {C} ") == C
    with pytest.raises(NotInSnapshotError, match=r"^token 'xusd' is ambiguous: 2 tokens have that symbol \(0xa1.*, 0xb2.*\)"):
        s.token_address("xusd")
    with pytest.raises(NotInSnapshotError, match=r"^no token 'FOO' in the snapshot"):
        s.token_address("FOO")


def test_the_api_and_the_cli_take_symbols(stream_result, tmp_path):
    xusd = stream_result.snapshot.token_address("xUSD")
    by_symbol, by_address = stream_result.curve("xUSD"), stream_result.curve(xusd)
    assert by_symbol.equals(by_address) and by_symbol["final_depeg_frac"].max() > 0.5  # xUSD's curve, not zeros
    out = tmp_path / "snap"
    stream_result.snapshot.to_parquet(out)
    runner = CliRunner()
    got = runner.invoke(main, ["thresholds", str(out), "--token", "xUSD", "--format", "json"])
    assert got.exit_code == 0 and xusd in got.output and '"first_liquidation_frac":0.1257' in got.output.replace(" ", "")
    bad = runner.invoke(main, ["thresholds", str(out), "--token", "FOO"])
    assert bad.exit_code == 2 and "no token 'FOO' in the snapshot" in bad.output



def test_a_haircut_file_is_the_same_solve_as_the_flag(stream_result, tmp_path):
    out = tmp_path / "snap"
    stream_result.snapshot.to_parquet(out)
    plan = tmp_path / "haircut.toml"
    plan.write_text("default = 0.9\n")
    runner = CliRunner()
    flag = runner.invoke(main, ["thresholds", str(out), "--liquidity-haircut", "0.9", "--format", "json"])
    by_file = runner.invoke(main, ["thresholds", str(out), "--liquidity-haircut-file", str(plan), "--format", "json"])
    assert flag.exit_code == by_file.exit_code == 0 and flag.output == by_file.output and "0.1257" in flag.output
    both = runner.invoke(main, ["thresholds", str(out), "--liquidity-haircut", "0.5", "--liquidity-haircut-file", str(plan)])
    plan.write_text("[venues]\nmorpho_blue = 0.5\n")
    wrong = runner.invoke(main, ["thresholds", str(out), "--liquidity-haircut-file", str(plan)])
    assert both.exit_code == wrong.exit_code == 2 and "unknown morpho_blue; venues:" in wrong.output

"""A wrong scenario fails with the file, the step and the reason, and leaves no node behind."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loopscan import devnet
from loopscan.devnet.node import free_port
from loopscan.devnet.scenario import SCENARIOS_DIR, load_scenario


def _variant(tmp_path: Path, replace: tuple[str, str], base: str = "minimal") -> Path:
    text = (SCENARIOS_DIR / f"{base}.toml").read_text()
    assert replace[0] in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(*replace, 1))
    return path


@pytest.mark.parametrize("name", ["minimal", "stream-2025", "susde-aave-loop", "mainnet-zoo", "pt-susde-2025"])
def test_shipped_scenarios_load(name):
    sc = load_scenario(name)
    assert sc.steps and sc.name == name


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (('token = "USDC"\nto = "lender"', 'token = "USDX"\nto = "lender"'), r"steps\[1\] \(mint\): unknown token 'USDX'"),
        (('action = "morpho.supply"', 'action = "morpho.suply"'), r"steps\[2\] \(morpho.suply\): unknown action"),
        (('assets = "10000000"', 'asets = "10000000"'), r"steps\[2\] \(morpho.supply\): missing field `assets`"),
        (('amount = "1000"', 'amount = "lots"'), r"steps\[3\] \(mint\): 'lots' is not a number"),
        (('lltv = "0.86"', 'lltv = "1.2"'), r"morpho.markets 'WETH/USDC-86': lltv 1.2 is not in \[0, 1\)"),
        (('oracle = "WETH/USDC market"', 'oracle = "nope"'), r"morpho.markets 'WETH/USDC-86': unknown oracle 'nope'"),
    ],
)
def test_static_errors_name_file_and_step(tmp_path, replace, message):
    path = _variant(tmp_path, replace)
    with pytest.raises(devnet.ScenarioError, match=message) as err:
        load_scenario(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (('kind = "no_metadata"\n', 'kind = "no_metadata"\nname = "No"\n'), r"tokens 'NOMETA': a no_metadata token has no name"),
        (('kind = "reverting_decimals"\n', 'kind = "reverting_decimals"\ndecimals = 18\n'),
         r"tokens 'RDEC': a reverting_decimals token has no decimals"),
        (('name = "Maker"', 'name = "Maker' + "x" * 30 + '"'), r"tokens 'MKR': a bytes32 name or symbol is at most 32 bytes"),
        (('id = "D0"\nname = "Decimals 0"\n', 'id = "D0"\n'), r"tokens 'D0': missing field\(s\) name"),
        (('address = "0x00000000000000000000000000000000000a0001"', 'address = "0xa0001"'),
         r"code 'no-code': `address` '0xa0001' is not a 20-byte 0x address"),
        (('runtime = "0x5f5ffd"', 'runtime = "5f5ffd"'), r"code 'reverts': `runtime` '5f5ffd' is not 0x-prefixed hex bytes"),
        (('code = "no-code"', 'code = "nope"'), r"morpho.oracles 'no code': unknown code 'nope'"),
        (('code = "no-code"', 'code = "no-code"\nloan = "USDC"'), r"morpho.oracles 'no code': an oracle given by its code takes no"),
        (('irm = "none"', 'irm = "fixed"'), r"morpho.markets 'idle': irm 'fixed' is not `adaptive` or `none`"),
    ],
)  # fmt: skip
def test_zoo_declarations_are_checked_before_any_transaction(tmp_path, replace, message):
    path = _variant(tmp_path, replace, base="mainnet-zoo")
    with pytest.raises(devnet.ScenarioError, match=message) as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_loop_above_lltv_is_refused_before_any_transaction(tmp_path):
    path = _variant(tmp_path, ('leverage = "3.5"', 'leverage = "8"'), base="stream-2025")
    with pytest.raises(devnet.ScenarioError, match=r"steps\[\d+\] \(morpho.loop\): leverage 8 means LTV 0.8750, at or above the market's LLTV 0.86"):
        load_scenario(path)


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("name = \n")
    with pytest.raises(devnet.ScenarioError, match="bad.toml: not valid TOML"):
        load_scenario(path)


def test_unknown_scenario_lists_the_known_ones():
    with pytest.raises(devnet.ScenarioError, match="no scenario 'nope' .*minimal"):
        load_scenario("nope")


@pytest.mark.devnet
def test_reverting_step_names_step_and_reason_and_stops_the_node(tmp_path):
    # borrower-b asks for 1.3M against 500 WETH at $3,000: LTV 86.7 % > LLTV 86 %.
    path = _variant(tmp_path, ('assets = "1200000"', 'assets = "1300000"'))
    port = free_port()
    with pytest.raises(devnet.ScenarioError) as err:
        devnet.start(path, port, use_cache=False)
    assert f"{path}: steps[8] (morpho.borrow): Morpho.borrow reverted: insufficient collateral" == str(err.value)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=2)

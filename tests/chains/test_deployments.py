"""Deployments files: the shipped mainnet file is valid; broken files give one-line errors."""

import json
from pathlib import Path

import pytest
from eth_utils import is_checksum_address, to_checksum_address

import loopscan.chains
from loopscan.chains import (
    DeploymentsError,
    known_chains,
    load_deployments,
    parse_deployments,
)
from loopscan.errors import LoopscanError

GOOD = """
chain_id = 1

[[contracts]]
protocol = "multicall3"
kind = "multicall3"
address = "0xcA11bde05977b3631167028862bE2a173976CA11"
start_block = 14353601
"""


def parse(text: str):
    return parse_deployments(text, "test", "t.toml")


def test_exported_names_are_pinned() -> None:
    assert sorted(loopscan.chains.__all__) == [
        "Contract", "Deployments", "DeploymentsError", "from_devnet_manifest", "known_chains", "load_deployments",
        "parse_deployments",
    ]
    assert issubclass(DeploymentsError, LoopscanError)


def test_mainnet_loads_with_checksummed_addresses() -> None:
    assert "mainnet" in known_chains()
    mainnet = load_deployments("mainnet")
    assert (mainnet.chain, mainnet.chain_id) == ("mainnet", 1)
    assert mainnet.contracts
    for contract in mainnet.contracts:
        assert is_checksum_address(contract.address), contract
        assert contract.start_block is None or contract.start_block > 0, contract


def test_mainnet_has_the_contracts_the_indexers_start_from() -> None:
    mainnet = load_deployments("mainnet")
    assert mainnet.get("multicall3", "multicall3").start_block == 14353601
    assert mainnet.get("morpho_blue", "core").address == "0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb"
    assert [f.label for f in mainnet.find("metamorpho", "factory")] == ["v1.0", "v1.1"]
    for protocol in ("aave_v3", "spark"):
        for kind in ("pool", "pool_addresses_provider", "protocol_data_provider", "ui_pool_data_provider", "oracle"):
            mainnet.get(protocol, kind)
    mainnet.get("uniswap_v3", "factory")


def test_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "fork.toml"
    path.write_text(GOOD)
    loaded = load_deployments(path)
    assert (loaded.chain, loaded.source) == ("fork", str(path))
    assert loaded.get("multicall3", "multicall3").start_block == 14353601


def test_lowercase_address_is_checksummed() -> None:
    loaded = parse(GOOD.replace("0xcA11bde05977b3631167028862bE2a173976CA11", "0xca11bde05977b3631167028862be2a173976ca11"))
    assert loaded.contracts[0].address == "0xcA11bde05977b3631167028862bE2a173976CA11"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chain_id = ", "t.toml: invalid TOML"),
        (GOOD.replace("chain_id = 1", "chain_id = 0"), "t.toml: chain_id: 0 is not a positive integer"),
        (GOOD.replace("chain_id = 1", ""), "t.toml: chain_id: None"),
        ("name = 'x'\n" + GOOD, "t.toml: name: unknown key"),
        (GOOD.replace("start_block", "start_blok"), r"t.toml: contracts\[0\].start_blok: unknown key"),
        (GOOD.replace("CA11\"", "CA1\""), r"contracts\[0\] \(multicall3 multicall3\).address: .* not a 0x-prefixed"),
        (GOOD.replace("0xcA11", "0xCa11"), r"\(multicall3 multicall3\).address: bad EIP-55 checksum"),
        (GOOD.replace("14353601", "-1"), r"\(multicall3 multicall3\).start_block: -1 is not"),
        (GOOD.replace("14353601", '"14353601"'), r"start_block: '14353601' is not"),
        (GOOD.replace('kind = "multicall3"', 'kind = "Multi Call"'), r"contracts\[0\].kind: 'Multi Call' is not"),
        (GOOD.replace('address = "0xcA11bde05977b3631167028862bE2a173976CA11"\n', ""), r"\.address: missing"),
        (GOOD + GOOD.replace("chain_id = 1", ""), r"contracts\[1\] \(multicall3 multicall3\): duplicate"),
    ],
)
def test_bad_files_name_file_and_key(text: str, message: str) -> None:
    with pytest.raises(DeploymentsError, match=message) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def test_unknown_chain_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DeploymentsError, match="venus: unknown chain; known: mainnet"):
        load_deployments("venus")
    with pytest.raises(DeploymentsError, match="nope.toml: cannot read"):
        load_deployments(tmp_path / "nope.toml")


def test_get_needs_exactly_one() -> None:
    loaded = parse(GOOD)
    with pytest.raises(DeploymentsError, match="expected one aave_v3 pool contract, found 0"):
        loaded.get("aave_v3", "pool")
    assert loaded.find("aave_v3") == ()
    mainnet = load_deployments("mainnet")
    with pytest.raises(DeploymentsError, match="found 2"):
        mainnet.get("metamorpho", "factory")


def test_holders_are_checksummed_and_checked(tmp_path) -> None:
    path = tmp_path / "v.toml"
    holder = "0x" + "ab" * 20
    path.write_text(
        f'chain_id = 1\n[[contracts]]\nprotocol = "erc4626"\nkind = "vault"\n'
        f'address = "{"0x" + "cd" * 20}"\nholders = ["{holder}"]\n'
    )
    (vault,) = load_deployments(path).contracts
    assert vault.holders == (to_checksum_address(holder),)
    path.write_text(path.read_text().replace(holder, "0x12"))
    with pytest.raises(DeploymentsError, match=r"v.toml: contracts\[0\] \(erc4626 vault\).holders\[0\]: '0x12' is not"):
        load_deployments(path)


def test_a_devnet_manifest_reads_as_deployments(tmp_path) -> None:
    manifest = {
        "scenario": "minimal", "chain_id": 31337,
        "contracts": {"morpho_blue": "0x" + "11" * 20, "uniswap_v3_swap_router": "0x" + "22" * 20},
        "tokens": {"xUSD": {"address": "0x" + "33" * 20, "kind": "opaque_vault"},
                   "USDC": {"address": "0x" + "44" * 20, "kind": "base"}},
    }  # fmt: skip
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(manifest))
    d = load_deployments(path)
    assert (d.chain, d.chain_id) == ("devnet-minimal", 31337)
    assert d.get("morpho_blue", "core").address == to_checksum_address("0x" + "11" * 20)
    assert [c.label for c in d.find("erc4626", "vault")] == ["xUSD"]
    assert not d.find("uniswap_v3", "swap_router")  # not something loopscan reads
    path.write_text("{}")
    with pytest.raises(DeploymentsError, match="devnet.json: not a loopscan devnet manifest"):
        load_deployments(path)
    # The manifest itself, or anything carrying it as `.manifest` (a running Devnet), reads the same.
    running = type("Running", (), {"manifest": manifest})()
    for given in (manifest, running, d):
        got = load_deployments(given)
        assert (got.chain, got.chain_id, got.contracts) == (d.chain, d.chain_id, d.contracts)
    assert load_deployments(d) is d

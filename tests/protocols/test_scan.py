"""The whole scan, as a user runs it: one snapshot per scenario, faults, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import faultproxy as fp
import pytest

from loopscan.chains import from_devnet_manifest
from loopscan.devnet.node import free_port
from loopscan.model import Snapshot
from loopscan.protocols import registry
from loopscan.rpc import (
    BadResponse,
    RateLimited,
    ReorgDetected,
    RetryPolicy,
    RpcTimeout,
    TransportError,
)
from loopscan.scanner import IndexError_, index_async

pytestmark = pytest.mark.devnet

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)
NO_RETRY = RetryPolicy(max_retries=0)
TIMEOUT = 1.0


def same(a: Snapshot, b: Snapshot) -> None:
    """Equal to the last row and field (created_at and the endpoint aside)."""
    assert (a.meta.chain_id, a.meta.block_number, a.meta.block_hash) == (b.meta.chain_id, b.meta.block_number, b.meta.block_hash)
    for name, frame in a.tables().items():
        left = frame.sort_values(list(frame.columns[:4])).reset_index(drop=True)
        right = getattr(b, name).sort_values(list(frame.columns[:4])).reset_index(drop=True)
        assert left.equals(right), name


@pytest.mark.parametrize("scenario", ["stream", "susde", "minimal"])
async def test_snapshot_holds_every_seeded_position_and_round_trips(scenario, request, tmp_path):
    net = request.getfixturevalue(scenario)
    snap = await index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=net.manifest["block"])
    assert snap.missing.empty
    keys = set(zip(snap.positions["market_id"], snap.positions["account"], strict=True))
    for p in net.manifest["positions"]["morpho"]:
        assert (net.manifest["morpho_markets"][p["market"]]["id"], p["account"].lower()) in keys
    for p in net.manifest["positions"]["aave"]:
        assert (net.manifest["tokens"][p["asset"]]["address"].lower(), p["account"].lower()) in keys
    assert len(snap.positions) == len(keys)
    assert set(snap.pools["pool"]) == {p["address"].lower() for p in net.manifest["uniswap_pools"].values()}
    same(snap, Snapshot.from_parquet(snap.to_parquet(tmp_path / "snap")))


CASES = [
    ("timeout", lambda: fp.delay(TIMEOUT * 5, method="eth_call"), RpcTimeout),
    ("429 with Retry-After", lambda: fp.status(429, b"slow down", {"Retry-After": "0"}), RateLimited),
    ("HTTP 500", lambda: fp.status(500, b"internal"), TransportError),
    ("truncated body", lambda: fp.truncate(method="eth_call"), BadResponse),
    ("not JSON", lambda: fp.garbage(method="eth_call"), BadResponse),
    ("one batch item fails", lambda: fp.rpc_error(429, "Your app has exceeded its compute units per second capacity.",
                                                  method="eth_call"), RateLimited),  # fmt: skip
    ("dropped connection", lambda: fp.drop(method="eth_getLogs"), TransportError),
    ("dropped mid-body", lambda: fp.drop_mid_body(method="eth_call"), TransportError),
]


async def _scan(net, url, retry):
    return await index_async(url, deployments=from_devnet_manifest(net.manifest), block=net.manifest["block"],
                             retry=retry, timeout=TIMEOUT)  # fmt: skip


@pytest.mark.parametrize(("name", "fault", "error"), CASES, ids=[c[0] for c in CASES])
async def test_a_fault_gives_the_same_snapshot_or_the_named_error(stream, name, fault, error):
    expected = await _scan(stream, stream.url, FAST)
    async with fp.FaultProxy(stream.url) as proxy:
        proxy.add(fault())
        same(await _scan(stream, proxy.url, FAST), expected)
    async with fp.FaultProxy(stream.url) as proxy:
        proxy.add(fault())
        with pytest.raises(error) as raised:
            await _scan(stream, proxy.url, NO_RETRY)
    assert fp.FAKE_KEY not in str(raised.value) and "/***/***?apikey=***" in str(raised.value)


async def test_log_range_limits_split_to_the_same_snapshot(stream):
    expected = await _scan(stream, stream.url, FAST)
    too_many = fp.rpc_error(-32005, "query returned more than 10000 results", method="eth_getLogs", times=4)
    async with fp.FaultProxy(stream.url) as proxy:
        proxy.add(too_many)
        same(await _scan(stream, proxy.url, FAST), expected)
        assert proxy.count("eth_getLogs") > 4


async def test_a_reorg_of_the_pinned_block_fails_the_scan(stream):
    def new_hash(call, answer):
        if answer.get("result"):
            answer["result"]["hash"] = "0x" + "ee" * 32
        return answer

    async with fp.FaultProxy(stream.url) as proxy:
        # The first block read chooses the pin; the last re-checks it and sees another hash.
        proxy.add(fp.mutate(new_hash, method="eth_getBlockByNumber", where=lambda c: c["params"][0] != "latest"))
        with pytest.raises(ReorgDetected):
            await _scan(stream, proxy.url, FAST)


async def test_a_contract_that_is_not_what_the_deployments_say(stream):
    manifest = dict(stream.manifest)
    manifest["contracts"] = {**manifest["contracts"], "morpho_blue": manifest["tokens"]["USDC"]["address"]}
    with pytest.raises(IndexError_, match=r"morpho_blue core at 0x\w+ does not answer feeRecipient\(\)"):
        await index_async(stream.url, deployments=from_devnet_manifest(manifest))


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loopscan", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_bad_input_is_one_line_naming_it(stream, tmp_path):
    secret = f"http://127.0.0.1:{free_port()}/v2/SECRETKEY0123456789"
    cases = [
        (["scan", "--rpc", secret, "--chain", "mainnet"], "error: eth_chainId at http://127.0.0.1:"),
        (["scan", "--rpc", stream.url, "--chain", "nope"], "error: nope: unknown chain; known: mainnet"),
        (["scan", "--rpc", stream.url, "--chain", "mainnet"], "error: http://127.0.0.1:"),  # 31337 is not mainnet
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text('chain_id = 31337\n[[contracts]]\nprotocol = "morpho_blue"\nkind = "core"\naddress = "0x123"\n')
    cases.append((["scan", "--rpc", stream.url, "--deployments", str(bad)], f"error: {bad}: contracts[0] (morpho_blue core).address"))
    manifest = tmp_path / "devnet.json"
    manifest.write_text(json.dumps(stream.manifest))
    for args, start in cases:
        result = _cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.startswith(start), (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "SECRETKEY" not in result.stderr + result.stdout
    # An unknown protocol is bad usage (exit 2), named with every registered one, before any read.
    result = _cli("scan", "--rpc", stream.url, "--deployments", str(manifest), "--protocols", "morpho, aave_v3 ,aave")
    assert result.returncode == 2
    known = ", ".join(sorted(registry.names()))
    assert f"Invalid value for '--protocols': unknown protocol(s) morpho, aave; known: {known}" in result.stderr


def test_cli_scan_prints_what_was_read_and_writes_the_snapshot(stream, tmp_path):
    manifest = tmp_path / "devnet.json"
    manifest.write_text(json.dumps(stream.manifest))
    result = _cli("scan", "--rpc", stream.url, "--deployments", str(manifest), "--block", str(stream.manifest["block"]),
                  "--index-only", "--out", str(tmp_path / "snap"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "91.4%" in result.stdout  # xUSD's opaque share
    snap = Snapshot.from_parquet(tmp_path / "snap")
    assert snap.meta.block_number == stream.manifest["block"]
    # Morpho's 9 rows; Gearbox's 3 credit accounts and its pool, the credit manager's one lender
    assert snap.positions.groupby("protocol").size().to_dict() == {"morpho_blue": 9, "gearbox": 4}


async def test_a_protocol_asked_for_says_why_it_would_read_nothing(stream):
    deployments = from_devnet_manifest(stream.manifest)
    with pytest.raises(IndexError_, match=r"lists no contracts for spark \(it reads spark pool\)$"):
        await index_async(stream.url, deployments=deployments, protocols=["morpho_blue", "spark"])
    with pytest.raises(IndexError_, match=r"^uniswap_v3: a venue reads the pools of the tokens .* --protocols morpho_blue,uniswap_v3\)$"):
        await index_async(stream.url, deployments=deployments, protocols=["uniswap_v3"])
    # A venue named beside a lending protocol reads the pools of the tokens that one finds.
    snap = await index_async(stream.url, deployments=deployments, protocols=["morpho_blue", "uniswap_v3"], block=stream.manifest["block"])
    assert len(snap.pools) == len(stream.manifest["uniswap_pools"]) and len(snap.vaults) == 0


async def test_a_protocol_left_out_makes_what_rests_on_it_not_computable(susde):
    """susde-aave-loop read with --protocols aave_v3: sUSDe's ERC-4626 book is not read, so no
    figure of a token whose loopers post sUSDe can be trusted. Read in full, USDT's δ₁ is 13.05 %
    (its first looper); narrowed, it must not read as safe."""
    from loopscan.result import analyse

    deployments = from_devnet_manifest(susde.manifest)
    snap = await index_async(susde.url, deployments=deployments, protocols=["aave_v3"], block=susde.manifest["block"])
    left = snap.missing[snap.missing["kind"] == "protocol"]
    assert sorted(left["key"]) == ["erc4626", "metamorpho", "morpho_blue", "uniswap_v3"]
    assert set(left["method"]) == {"--protocols"}
    usdt = analyse(snap).thresholds.set_index("symbol").loc["USDT"]
    assert usdt["not_computable"] == ("first_liquidation, cascade, bad_debt, bad_debt_at_100pct: "
                                      "the scan left out erc4626, metamorpho (--protocols)")  # fmt: skip
    assert usdt[["first_liquidation_frac", "cascade_frac", "bad_debt_frac", "bad_debt_at_100pct_usd"]].isna().all()
    full = analyse(await index_async(susde.url, deployments=deployments, block=susde.manifest["block"]))
    assert full.thresholds.set_index("symbol").loc["USDT", "first_liquidation_frac"] == pytest.approx(0.1305, abs=1e-4)
    assert full.snapshot.missing.empty

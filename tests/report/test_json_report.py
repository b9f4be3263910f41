"""`--format json`: the stream-2025 report against its JSON Schema and the result it came from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.report.json_report import SCHEMA_VERSION, THRESHOLD_KEYS, dumps, report_dict
from loopscan.result import analyse

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "scan-report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def scan(stream_result, stream_session):
    """(result, manifest) of the seeded stream-2025."""
    return stream_result, stream_session.manifest


def _validate(report: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(report), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _address(manifest: dict, symbol: str) -> str:
    return manifest["tokens"][symbol]["address"].lower()


def test_the_schema_is_valid_and_documents_every_key():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    undocumented = []

    def walk(node: dict, where: str) -> None:
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub and not ("$ref" in sub and "description" in _ref(sub["$ref"])):
                undocumented.append(f"{where}.{key}")
            if sub.get("additionalProperties") is not False and sub.get("type") == "object":
                undocumented.append(f"{where}.{key} (open object)")
            walk(sub, f"{where}.{key}")
            if "items" in sub:
                walk(sub["items"], f"{where}.{key}[]")

    walk(SCHEMA, "$")
    assert not undocumented
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def _ref(ref: str) -> dict:
    return SCHEMA["$defs"][ref.removeprefix("#/$defs/")]


@pytest.mark.devnet
def test_stream_report_matches_its_schema_and_the_result(scan):
    result, manifest = scan
    text = dumps(result)
    report = json.loads(text)
    _validate(report)
    assert list(report) == SCHEMA["required"]  # keys in the documented order
    assert text == dumps(result) and text.isascii()
    json.dumps(report, allow_nan=False)  # no NaN or infinity anywhere

    meta = result.snapshot.meta
    assert (report["chain_id"], report["block"], report["block_hash"]) == (31337, manifest["block"], meta.block_hash)
    assert report["block_timestamp"] == meta.block_timestamp and report["endpoint"] == meta.endpoint

    xusd, sdeusd = _address(manifest, "xUSD"), _address(manifest, "sdeUSD")
    tokens = {t["address"]: t for t in report["tokens"]}
    assert list(tokens) == sorted(tokens) == sorted(set(result.thresholds["token"]))
    for row in result.thresholds.itertuples():
        entry = tokens[row.token]
        assert row.shock in entry["shocks"]
        for column, key in THRESHOLD_KEYS[row.shock].items():
            value = getattr(row, column)
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                assert entry[key] is None, key
            elif isinstance(value, str):
                assert entry[key] == value, key
            else:
                assert entry[key] == pytest.approx(value), key
    x = tokens[xusd]
    assert x["symbol"] == "xUSD" and x["kind"] == "vault_share" and x["shocks"] == ["depeg", "backing_loss"]
    assert x["first_liquidation_depeg"] == pytest.approx(0.090156, abs=1e-6)  # a Gearbox credit account's
    assert x["first_liquidation_backing_loss"] is not None
    s = tokens[sdeusd]
    assert s["cascade_depeg"] is None  # NaN in the table: no cascade up to 100 %
    assert s["shocks"] == ["depeg"] and s["first_liquidation_backing_loss"] is None  # no opaque backing: not solved

    lenders = report["lenders"]
    assert len(lenders) == len(result.losses)
    assert {lender["symbol"] for lender in lenders} >= {"deUSD", "cpUSDC"}
    deusd_loss = [x for x in lenders if x["symbol"] == "deUSD" and x["shocked_token"] == xusd and x["shock_kind"] == "depeg"]
    # The book-value oracle hides it; it starts at the cascade (xUSD's first liquidation is a Gearbox account, no loss).
    assert [(x["loss_at_first_liquidation_usd"], x["loss_at_cascade_usd"]) for x in deusd_loss] == [(None, pytest.approx(68e6))]
    # As seeded nothing is breaking yet: nothing liquidatable or under water, the baseline does nothing.
    assert (x["liquidatable_now"], x["bad_debt_now_usd"]) == (0, 0.0)
    assert report["now"]["positions"] == [] and report["baseline"]["liquidations"] == 0
    assert [m["utilisation"] for m in report["now"]["lenders_stuck"]] == [pytest.approx(1.0)]  # the private xUSD market
    # the unwind: a 15 % depeg of xUSD opens $30.0M of collateral on Morpho and Gearbox's two xUSD
    # accounts' 6.5M xUSD ($8.255M at $1.27); its pool takes $1.27M within 15 %
    (unwind,) = [d for d in report["depth"] if d["token"] == xusd and d["level"] == 0.15]
    assert unwind["liquidatable_usd"] == pytest.approx(30.0e6 + 8.255e6, rel=1e-3) and unwind["absorbable_usd"] == pytest.approx(1.27e6, rel=1e-2)
    assert unwind["liquidatable_to_absorbable"] == pytest.approx(unwind["liquidatable_usd"] / unwind["absorbable_usd"])
    from loopscan.monitor.readings import readings

    read = readings(result).set_index(["subject", "metric"])["value"]
    assert read[(xusd, "unwind_15pct_x")] == pytest.approx(unwind["liquidatable_to_absorbable"])
    assert math.isnan(read[(sdeusd, "unwind_15pct_x")])  # no pool read for sdeUSD: not computable (None)

    (pyramid,) = report["pyramids"]
    assert pyramid["symbol"] == "USDC" and pyramid["depth"] == 4
    assert pyramid["multiplier"] == pytest.approx(pyramid["receipts_outstanding"] / pyramid["base_held"])
    assert pyramid["receipts_outstanding_usd"] == pytest.approx(pyramid["receipts_outstanding"])  # USDC at 1 USD

    vaults = {v["symbol"]: v for v in report["vaults"]}
    assert vaults["xUSD"]["total_assets"] == str(253_340_000 * 10**6)  # uint256: exact decimal text
    assert int(vaults["xUSD"]["opaque_assets"]) == int(vaults["xUSD"]["total_assets"]) - int(
        vaults["xUSD"]["visible_assets"]
    )
    assert vaults["xUSD"]["opaque_fraction"] == pytest.approx(231.6 / 253.34)
    assert vaults["xUSD"]["multiplier"] == pytest.approx(11.653, abs=1e-3) and vaults["xUSD"]["depth"] == 1

    assert len(report["loops"]) == len(result.loops) > 0
    loop = report["loops"][0]
    assert (
        loop["loop"] == "USDC → xUSD → USDC"
        and loop["symbols"] == ["USDC", "xUSD"]
        and loop["steps"] == ["mints", "borrows"]
    )
    assert report["missing"] == {"count": 0, "reads": []}


def _literal_result(symbol: str):
    """A vault over a base token with nothing visible: no base under it (multiplier infinite),
    and a symbol anyone could have chosen."""
    meta = SnapshotMeta(
        chain_id=1, block_number=7, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="http://node:8545"
    )
    base, vault = "0x" + "a" * 40, "0x" + "c" * 40
    tokens = [{"block": 7, "address": a, "symbol": s, "name": "n", "decimals": d, "kind": k, "price": None, "price_source": None}
              for a, s, d, k in ((base, "USDC", 6, "base"), (vault, symbol, 18, "vault_share"))]  # fmt: skip
    vaults = [{"block": 7, "vault": vault, "share_token": vault, "asset": base, "kind": "erc4626", "total_assets": 2**255 - 1,
               "total_supply": 2**256 - 1, "visible_assets": 0, "opaque_assets": 2**255 - 1}]  # fmt: skip
    missing = [
        {
            "block": 7,
            "kind": "token",
            "address": base,
            "key": None,
            "method": "decimals()",
            "reason": "execution reverted",
        }
    ]
    snap = Snapshot(
        meta, tokens=to_frame("tokens", tokens), vaults=to_frame("vaults", vaults), missing=to_frame("missing", missing)
    )
    return analyse(snap)


def test_infinite_and_nan_values_are_null_and_amounts_exact():
    report = report_dict(_literal_result("sUSD"))
    text = json.dumps(report, allow_nan=False)
    _validate(json.loads(text))
    (vault,) = report["vaults"]
    assert vault["multiplier"] is None and vault["base"] is None  # 1 / 0 and nothing to rest on
    assert vault["total_assets"] == str(2**255 - 1) and vault["total_supply"] == str(2**256 - 1)
    assert vault["own_opaque_fraction"] == 1.0
    assert report["missing"]["count"] == 1 and report["missing"]["reads"][0]["method"] == "decimals()"
    assert report["missing"]["reads"][0]["key"] is None


@pytest.mark.parametrize("symbol", ['x"US\\D\x1b[31m\u202e</script>', "$\\_^{}", "\x00", "雪USD"])
def test_symbols_are_kept_as_read_and_escaped(symbol):
    result = _literal_result(symbol)
    text = dumps(result)
    assert text.isascii() and "\x1b" not in text and "\u202e" not in text  # nothing raw reaches a terminal
    report = json.loads(text)
    _validate(report)
    assert report["vaults"][0]["symbol"] == symbol

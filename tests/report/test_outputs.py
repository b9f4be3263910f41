"""The outputs of a stream-2025 scan: JSON report against its schema, exports read back, plots."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import networkx as nx
import pytest
from matplotlib import pyplot as plt
from scan_helpers import seeded_snapshot

from loopscan.report.json_report import dumps
from loopscan.result import analyse

pytestmark = pytest.mark.devnet
SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "scan-report.schema.json").read_text())


async def _result(net):
    return analyse(await seeded_snapshot(net))


async def test_json_report_matches_its_schema_and_the_thresholds(stream):
    result = await _result(stream)
    report = json.loads(dumps(result))
    jsonschema.validate(report, SCHEMA)
    xusd = stream.manifest["tokens"]["xUSD"]["address"].lower()
    row = result.thresholds[(result.thresholds["token"] == xusd) & (result.thresholds["shock"] == "depeg")].iloc[0]
    (entry,) = [t for t in report["tokens"] if t["address"] == xusd]
    assert entry["first_liquidation_depeg"] == pytest.approx(row["first_liquidation_frac"]) == pytest.approx(0.090156, abs=1e-6)
    sdeusd = [t for t in report["tokens"] if t["symbol"] == "sdeUSD"][0]
    assert sdeusd["cascade_depeg"] is None  # NaN in the table, null in JSON
    assert {lender["symbol"] for lender in report["lenders"]} >= {"deUSD", "cpUSDC"}


async def test_graph_exports_read_back_with_the_same_nodes_and_attributes(stream, tmp_path):
    result = await _result(stream)
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        g = reader(result.export(tmp_path, fmt))
        assert set(g.nodes) == set(result.graph.nodes)
        assert g.number_of_edges() == result.graph.number_of_edges()
        xusd = "token:" + stream.manifest["tokens"]["xUSD"]["address"].lower()
        assert g.nodes[xusd]["symbol"] == "xUSD" and g.nodes[xusd]["first_liquidation_frac"] == pytest.approx(0.090156, abs=1e-6)
        vault = "vault:" + stream.manifest["tokens"]["xUSD"]["address"].lower()
        assert g.nodes[vault]["total_assets"] == str(253_340_000 * 10**6)  # uint256 as exact text
    data = json.loads(result.export(tmp_path, "json").read_text())
    assert nx.node_link_graph(data, edges="links").number_of_nodes() == result.graph.number_of_nodes()
    assert data["meta"]["block"] == stream.manifest["block"]
    dot = result.export(tmp_path, "dot").read_text()
    assert dot.count(" -> ") == result.graph.number_of_edges()


async def test_plots_are_written(stream, tmp_path):
    result = await _result(stream)
    xusd = stream.manifest["tokens"]["xUSD"]["address"].lower()
    fig = result.plot("cascade", xusd, tmp_path / "cascade.png")
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_label() == "final depeg δ*(δ)"]
    assert list(line.get_ydata()) == pytest.approx(list(100 * result.curve(xusd)["final_depeg_frac"]))
    plt.close(fig)
    for what in ("rounds", "exposure"):
        plt.close(result.plot(what, xusd, tmp_path / f"{what}.svg"))
    artefacts = Path("test-artifacts")
    artefacts.mkdir(exist_ok=True)
    plt.close(result.plot("cascade", xusd, artefacts / "cascade-xUSD.png"))
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("cascade.png", "rounds.svg", "exposure.svg"))

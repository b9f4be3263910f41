"""docs/quickstart.ipynb runs top to bottom in a Jupyter kernel and shows what the checkout computes.

It is stored without outputs; executed here in a temporary folder (its exports land there), it
must raise nothing, draw the cascade, write the graph files, and its result must equal the
session's stream-2025 scan. Costs ~20 s (a kernel, a devnet from the cached state, one scan).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.packaging, pytest.mark.devnet]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "quickstart.ipynb"
COLUMNS = ["token", "shock", "first_liquidation_frac", "cascade_frac", "bad_debt_frac", "positions_at_risk"]
# Run after the notebook, in its kernel: what its `result` holds, for comparison.
PROBE = f"import json; print(json.dumps(result.thresholds[{COLUMNS!r}].astype(object).where(result.thresholds.notna(), None).values.tolist()))"


def test_the_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert set(nb.metadata) == {"kernelspec", "language_info"}


def test_the_notebook_runs_top_to_bottom(tmp_path, monkeypatch, stream_result):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's loopscan, as the test does
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    outputs = [cell.outputs for cell in nb.cells if cell.cell_type == "code"]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]
    images = [o for cell in outputs for o in cell if "image/png" in o.get("data", {})]
    assert len(images) == 1  # the cascade plot
    written = sorted(p.name for p in (tmp_path / "quickstart-out").iterdir())
    assert written == ["risk-graph.gexf", "risk-graph.html"]

    got = json.loads(outputs[-1][0].text)
    expected = stream_result.thresholds[COLUMNS].astype(object).where(stream_result.thresholds.notna(), None)
    assert got == expected.values.tolist()

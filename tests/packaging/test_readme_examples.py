"""The README's Python examples run exactly as written (those that need no mainnet node).

Each ```python block of README.md that does not use a placeholder `rpc_url` is executed in a
temporary folder; the library example must leave the thresholds of stream-2025 and the files it
says it writes. Costs ~30 s (two devnets from the cached state, one scan, one δ*(δ) curve).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.devnet

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
RUNNABLE = [b for b in BLOCKS if "rpc_url" not in b]


def test_the_readme_has_the_examples_this_test_runs():
    assert (
        len(RUNNABLE) == 2 and any("loopscan.scan(" in b for b in RUNNABLE) and any("net.apply(" in b for b in RUNNABLE)
    )


@pytest.mark.parametrize("code", RUNNABLE, ids=["library", "devnet"])
def test_a_readme_example_runs_as_written(code, tmp_path, monkeypatch, stream_result):
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(compile(code, str(README), "exec"), names)  # noqa: S102 — the README's own example
    if "result" in names:
        assert names["result"].thresholds.equals(stream_result.thresholds)
        assert (tmp_path / "cascade.png").stat().st_size > 10_000 and (tmp_path / "out" / "risk-graph.gexf").is_file()
    else:
        assert names["net"].node.process is None  # the `with` block stopped its node

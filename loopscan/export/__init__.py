"""Exports of a ScanResult: the risk graph (GraphML, GEXF, node-link JSON, DOT, an HTML page) and
the tables (CSV, Parquet). `export(result, folder, fmt)` writes into `folder` (created) under a
fixed name and returns the file or folder it wrote:

=======  ==========================  =========================================================
fmt      written                      what
=======  ==========================  =========================================================
graphml  `risk-graph.graphml`         for Gephi, yEd, Cytoscape (`annotated_graph`)
gexf     `risk-graph.gexf`            Gephi's own format
json     `risk-graph.json`            node-link JSON (d3) with a `meta` block
dot      `risk-graph.dot`             Graphviz: `dot -Tsvg risk-graph.dot`
html     `risk-graph.html`            a self-contained page (`loopscan.export.html`)
csv      `tables/<table>.csv`         every table, safe to open in a spreadsheet
parquet  `parquet/snapshot/`,         the snapshot (`Snapshot.from_parquet`) and the derived
         `parquet/<table>.parquet`    tables
=======  ==========================  =========================================================

    >>> export(result, Path("out"), "graphml")            # doctest: +SKIP
    PosixPath('out/risk-graph.graphml')
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from loopscan.errors import LoopscanError
from loopscan.export.graph_files import annotated_graph, write_dot, write_gexf, write_graphml, write_json
from loopscan.export.tables import write_csv, write_parquet

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = ["FORMATS", "ExportError", "annotated_graph", "export"]


def _write_html(result: ScanResult, path: Path) -> Path:
    from loopscan.export.html import write_html  # the page pulls in its own assets: load on use

    return write_html(result, path)


_WRITERS: dict[str, tuple[Callable[[ScanResult, Path], Path], str]] = {
    "graphml": (write_graphml, "risk-graph.graphml"),
    "gexf": (write_gexf, "risk-graph.gexf"),
    "json": (write_json, "risk-graph.json"),
    "dot": (write_dot, "risk-graph.dot"),
    "html": (_write_html, "risk-graph.html"),
    "csv": (write_csv, "tables"),
    "parquet": (write_parquet, "parquet"),
}
FORMATS = tuple(_WRITERS)
"""Every format `export` writes."""


class ExportError(LoopscanError):
    """An export format loopscan does not write."""


def export(result: ScanResult, path: Path, fmt: str) -> Path:
    """Write `result` as `fmt` into the folder `path` (created); returns the file or folder written.

    Raises `ExportError` for a format not in `FORMATS`.
    """
    try:
        writer, name = _WRITERS[fmt]
    except (KeyError, TypeError):
        raise ExportError(f"unknown export format {fmt!r}; known formats: {', '.join(FORMATS)}") from None
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return writer(result, path / name)

"""Exports of a ScanResult: the risk graph (GraphML, GEXF, node-link JSON, DOT) and the tables
(CSV, Parquet). `export(result, folder, fmt)` writes into `folder` under fixed names."""

from __future__ import annotations

from pathlib import Path

from loopscan.errors import LoopscanError
from loopscan.export.graph_files import write_dot, write_gexf, write_graphml, write_json
from loopscan.export.tables import write_csv, write_parquet

__all__ = ["FORMATS", "ExportError", "export"]

_WRITERS = {
    "graphml": (write_graphml, "risk-graph.graphml"),
    "gexf": (write_gexf, "risk-graph.gexf"),
    "json": (write_json, "risk-graph.json"),
    "dot": (write_dot, "risk-graph.dot"),
    "csv": (write_csv, "tables-csv"),
    "parquet": (write_parquet, "tables-parquet"),
}
FORMATS = tuple(_WRITERS)


class ExportError(LoopscanError):
    """An export format loopscan does not write."""


def export(result, folder: Path, fmt: str) -> Path:
    if fmt not in _WRITERS:
        raise ExportError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    writer, name = _WRITERS[fmt]
    return writer(result, folder / name)

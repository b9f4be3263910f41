"""docs/snapshot-schema.md is the schema as the code defines it."""

from pathlib import Path

from loopscan.model import schema_markdown


def test_schema_doc_is_current():
    doc = (Path(__file__).parents[2] / "docs" / "snapshot-schema.md").read_text()
    assert schema_markdown() in doc, "regenerate docs/snapshot-schema.md (see its first line)"

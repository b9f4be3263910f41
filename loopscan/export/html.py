"""The risk graph as one self-contained HTML page that works offline.

`write_html(result, path)` writes `path/risk-graph.html` (or `path` itself when it ends in
`.html`): the graph library (cytoscape.js, from the npm package pinned in `package.json`) is
read from `node_modules/` and inlined, the graph is a JSON block, and the page's own CSS and
JS come from `loopscan/export/page/`. Nothing is fetched when the page is opened: a
Content-Security-Policy forbids every network request.

What the page shows (`loopscan.export.page_data` builds it, `page_layout` places it and
`page_format` styles it; the page only draws it):

* **Pyramids by base asset** (preset positions computed here): each base token at the bottom
  of its column, the receipts built on it above it by depth (`ScanResult.vaults`), a vault's
  opaque backing to the left of it, and the markets to the right, each at the height between
  its collateral and its loan token. A vault and the receipt token it issues are one node.
* **Accounts are aggregated**: one node per market for all its positions (mainnet has 100,000
  accounts); a vault's own supply to a market is drawn as the market backing the vault instead.
  A market's and a token's largest positions (`TOP_POSITIONS`) are listed in the detail panel.
* **Node size** by value in USD (log-scaled), **colour** by distance to δ₁ (the depeg at which
  the first position becomes liquidatable): red close, green far, grey none.
* **Clicking a node** shows its exposure, its thresholds and its positions; a search box finds
  nodes by symbol or address; a legend says all this on the page.

Token symbols are attacker-controlled. They reach the page only as JSON strings inside a
`<script type="application/json">` block with `<`, `>`, `&`, U+2028 and U+2029 escaped, and the
page's JS puts them in the document with `textContent` (never `innerHTML`) or draws them on the
graph's canvas. Control and format characters (ANSI escapes, bidi overrides) are shown escaped
(`loopscan.textsafe.terminal_safe`).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from loopscan.errors import LoopscanError
from loopscan.export.page_data import page_data

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = [
    "FILE_NAME",
    "LIBRARY",
    "HtmlExportError",
    "load_library",
    "page_data",
    "render_page",
    "script_json",
    "write_html",
]

FILE_NAME = "risk-graph.html"
LIBRARY = ("cytoscape", "dist/cytoscape.min.js")  # npm package, file inside it
PAGE = Path(__file__).with_name("page")
class HtmlExportError(LoopscanError):
    """The HTML page cannot be written (its graph library is not installed)."""


def write_html(result: ScanResult, path: Path) -> Path:
    """Write the page into folder `path` as `risk-graph.html` (or to `path` if it names an
    `.html` file); return the file written."""
    path = Path(path)
    target = path if path.suffix.lower() in (".html", ".htm") else path / FILE_NAME
    library = load_library()
    page = render_page(page_data(result), library)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target


def load_library(root: Path | None = None) -> tuple[str, str]:
    """(minified JS, "name version") of the graph library: the copy a wheel vendors as package
    data, or `node_modules/` of the checkout (`root`, default: this one; `loopscan.shipped`)."""
    from loopscan.shipped import vendored

    package = vendored(LIBRARY[0], root)
    file = package / LIBRARY[1]
    if not file.is_file():
        raise HtmlExportError(
            f"the HTML export inlines {LIBRARY[0]} from {file}, which is missing: run `npm ci` in {package.parents[1]}"
        )
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = "?"
    return file.read_text(encoding="utf-8"), f"{LIBRARY[0]} {version}"


# ---------------------------------------------------------------------------------------------
# Escaping


def script_json(data) -> str:
    """JSON that can sit inside a <script> element: no `<`, `>`, `&`, U+2028 or U+2029 in it."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def _inline_js(code: str) -> str:
    """JS that cannot close or confuse its <script> element (`<\\/` means `</` in strings,
    regular expressions and template literals alike)."""
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


def render_page(data: dict, library: tuple[str, str]) -> str:
    """The page: template + CSS + inlined library + the page's JS + the data."""
    js, lib_name = library
    data = {**data, "meta": {**data.get("meta", {}), "library": lib_name}}
    meta = data["meta"]
    parts = {
        "TITLE": html.escape(f"chain {meta.get('chain_id')}, block {meta.get('block')}"),
        "CSS": (PAGE / "page.css").read_text(encoding="utf-8").replace("</", "<\\/"),
        "DATA": script_json(data),
        "LIBRARY": _inline_js(js),
        "APP": _inline_js((PAGE / "page.js").read_text(encoding="utf-8")),
    }
    template = (PAGE / "page.html").read_text(encoding="utf-8")
    # One pass, so that nothing inserted is ever searched for another marker.
    return re.sub(r"@@(TITLE|CSS|DATA|LIBRARY|APP)@@", lambda m: parts[m.group(1)], template)

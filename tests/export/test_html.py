"""The HTML risk graph, in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
Playwright, which never downloads a browser of its own here.

The page must load offline with no console error and no request but its own file, draw every
node it exports, open the detail panel on a click, and show attacker-chosen token symbols as
text: a scenario token is named `<img src=x onerror=alert(1)>` on chain.
"""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from scan_helpers import seeded_snapshot

from loopscan import devnet
from loopscan.export.html import HtmlExportError, load_library, page_data, render_page, script_json, write_html
from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.result import ScanResult, analyse

ROOT = Path(__file__).parents[2]
ARTEFACT = ROOT / "test-artifacts" / "risk-graph.png"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = "</script><script>alert(1)</script>"


def _result(net) -> ScanResult:
    """Index and analyse, in a thread of its own: Playwright's sync API runs an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return analyse(pool.submit(asyncio.run, seeded_snapshot(net)).result())


def _exported(file: Path) -> dict:
    """The data block of a written page, parsed as the page itself parses it."""
    match = re.search(r'<script type="application/json" id="loopscan-data">(.*?)</script>', file.read_text(), re.S)
    assert match, "no data block"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (Debian's package; Playwright must not download one)"
        )
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def evil_net(tmp_path_factory):
    """stream-2025 with xUSD's and sdeUSD's on-chain symbols chosen by an attacker."""
    text = (ROOT / "fixtures" / "scenarios" / "stream-2025.toml").read_text()
    for old, new in (('name = "stream-2025"', 'name = "stream-2025-evil-symbols"'),
                     ('symbol = "xUSD"', f'symbol = "{EVIL_IMG}"'), ('symbol = "sdeUSD"', f'symbol = "{EVIL_SCRIPT}"')):  # fmt: skip
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    path = tmp_path_factory.mktemp("scenario") / "stream-2025-evil-symbols.toml"
    path.write_text(text)
    net = devnet.start(path, use_cache=False)
    try:
        yield net
    finally:
        net.stop()


class Opened:
    """A page opened from a file, with everything it logged, requested and raised."""

    def __init__(self, browser: Browser, file: Path) -> None:
        self.url = file.resolve().as_uri()
        self.context = browser.new_context(viewport={"width": 1500, "height": 900}, service_workers="block")
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.route("**/*", lambda route: route.continue_() if route.request.url == self.url else route.abort())
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_function("window.loopscanGraph !== undefined", timeout=10_000)

    def click_node(self, node_id: str) -> None:
        """A real mouse click at the node's rendered position."""
        pos = self.page.evaluate("id => loopscanGraph.cy.$id(id).renderedPosition()", node_id)
        box = self.page.locator("#graph").bounding_box()
        self.page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
        self.page.wait_for_selector("#detail:not([hidden])", timeout=5_000)

    def title(self) -> str:
        return self.page.locator("#detail-title").text_content()

    def assert_clean(self) -> None:
        assert [m for m in self.console if m[0] in ("error", "pageerror", "warning")] == []
        assert self.requests == [self.url]  # the page itself, nothing else
        assert self.dialogs == []


@pytest.mark.devnet
def test_the_page_draws_the_stream_graph_offline_and_opens_a_node(stream, browser, tmp_path):
    result = _result(stream)
    file = write_html(result, tmp_path)
    assert file == tmp_path / "risk-graph.html"
    data = _exported(file)
    kinds = [n["kind"] for n in data["nodes"]]
    # 6 tokens (USDC at the base, 5 receipts: Gearbox's pool shares among them), 5 markets (Gearbox's
    # credit manager among them), 1 opaque backing, 5 aggregated account nodes
    assert sorted(kinds) == sorted(["base"] + ["receipt"] * 5 + ["market"] * 5 + ["opaque"] + ["accounts"] * 5)

    opened = Opened(browser, file)
    page = opened.page
    cy = page.evaluate("""() => { const cy = loopscanGraph.cy, w = cy.width(), h = cy.height();
        return {nodes: cy.nodes().length, edges: cy.edges().length,
                inside: cy.nodes().filter(n => { const p = n.renderedPosition(), b = n.renderedBoundingBox();
                    return p.x > 0 && p.y > 0 && p.x < w && p.y < h && b.w > 5 && b.h > 5; }).length}; }""")  # fmt: skip
    assert cy == {"nodes": len(data["nodes"]), "edges": len(data["edges"]), "inside": len(data["nodes"])}

    xusd = stream.manifest["tokens"]["xUSD"]["address"].lower()
    opened.click_node(f"token:{xusd}")
    assert opened.title() == "xUSD"
    detail = page.locator("#detail").inner_text()
    for expected in ("Look-through exposure", "Thresholds — market depeg of xUSD", "12.57 %", "Positions with xUSD as collateral",
                     "$253.34M", "Unwind — xUSD", "liquidatable now (at the pin)", "Thresholds when liquidity leaves — xUSD",
                     "90 % gone"):  # fmt: skip
        assert expected in detail

    # Pyramid: the base at the bottom, receipts above it by depth (cytoscape's y grows downwards).
    y = {n["label"]: n["y"] for n in data["nodes"]}
    assert y["USDC"] > y["xUSD"] > y["deUSD"] > y["sdeUSD"] > y["cpUSDC"]

    page.fill("#search", "sdeusd")
    expected = sum("sdeusd" in n["search"] for n in data["nodes"])
    assert page.locator("#search-count").text_content() == f"{expected} matches"
    assert page.evaluate("loopscanGraph.cy.nodes('.match').length") == expected
    page.fill("#search", "")

    ARTEFACT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACT))
    opened.assert_clean()
    opened.context.close()


@pytest.mark.devnet
def test_attacker_chosen_symbols_show_as_text(evil_net, browser, tmp_path):
    file = write_html(_result(evil_net), tmp_path / "evil.html")
    raw = file.read_text()
    assert EVIL_IMG not in raw and "<script>alert" not in raw
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in raw
    assert len(re.findall(r"</script", raw, re.I)) == len(re.findall(r"<script", raw, re.I)) == 3

    opened = Opened(browser, file)
    page = opened.page
    xusd = evil_net.manifest["tokens"]["xUSD"]["address"].lower()
    sdeusd = evil_net.manifest["tokens"]["sdeUSD"]["address"].lower()
    opened.click_node(f"token:{xusd}")
    assert opened.title() == EVIL_IMG
    page.evaluate(
        "id => { loopscanGraph.cy.$id(id).emit('tap'); }", f"token:{sdeusd}"
    )  # returns nothing: a collection is slow to serialise
    assert opened.title() == EVIL_SCRIPT
    assert EVIL_SCRIPT in page.locator("#detail").inner_text()
    page.fill("#search", "<img")
    assert page.evaluate("loopscanGraph.cy.nodes('.match').length") >= 1
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.scripts.length") == 3
    opened.assert_clean()
    # The Content-Security-Policy itself stops a request (the route would abort it too, but record it).
    assert page.evaluate("fetch('https://example.com/x').then(() => 'fetched', () => 'blocked')") == "blocked"
    assert opened.requests == [opened.url]
    assert any("Content Security Policy" in text for _, text in opened.console)
    page.screenshot(path=str(tmp_path / "evil.png"))
    opened.context.close()


# -- without a browser or a node ----------------------------------------------------------------


def _literal_result(symbol: str) -> ScanResult:
    base, share, account, morpho, market_id = (
        "0x" + "b" * 40,
        "0x" + "c" * 40,
        "0x" + "a" * 40,
        "0x" + "f" * 40,
        "0x" + "1" * 64,
    )
    meta = SnapshotMeta(chain_id=1, block_number=10, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="test")
    tokens = [{"address": base, "symbol": "USDC", "name": "USDC", "decimals": 6, "kind": "base", "price": None, "price_source": None},
              {"address": share, "symbol": symbol, "name": symbol, "decimals": 6, "kind": "vault_share", "price": None, "price_source": None}]  # fmt: skip
    vaults = [{"vault": share, "share_token": share, "asset": base, "kind": "erc4626", "total_assets": 10**12, "total_supply": 10**12,
               "visible_assets": 10**11, "opaque_assets": 9 * 10**11}]  # fmt: skip
    markets = [{"protocol": "morpho_blue", "protocol_address": morpho, "market_id": market_id, "loan_token": base,
                "total_supply_assets": 10**12, "total_borrow_assets": 8 * 10**11}]  # fmt: skip
    market_collaterals = [{"protocol_address": morpho, "market_id": market_id, "collateral_token": share,
                           "liquidation_threshold_wad": 86 * 10**16, "liquidation_incentive_wad": 1043841336116910229,
                           "oracle_kind": "market", "oracle_price_raw": 10**36, "oracle_price_scale": 10**36, "price_quote": "loan"}]  # fmt: skip
    positions = [{"protocol": "morpho_blue", "protocol_address": morpho, "market_id": market_id, "account": account,
                  "debt_amount": 8 * 10**11, "supply_amount": 0}]  # fmt: skip
    position_collaterals = [{"protocol": "morpho_blue", "protocol_address": morpho, "market_id": market_id, "account": account,
                             "collateral_token": share, "amount": 10**12}]  # fmt: skip
    holdings = [{"vault": share, "holder": share, "token": base, "protocol": None, "protocol_address": None, "market_id": None,
                 "amount": 10**11, "read_method": "balanceOf"}]  # fmt: skip
    tables = {"tokens": tokens, "vaults": vaults, "markets": markets, "market_collaterals": market_collaterals,
              "positions": positions, "position_collaterals": position_collaterals, "holdings": holdings}
    snap = Snapshot(meta, **{name: to_frame(name, [{"block": 10, **r} for r in rows]) for name, rows in tables.items()})
    return analyse(snap)


def test_data_block_escapes_what_could_end_the_script():
    text = script_json({"s": "</script><!--&\u2028\u2029é"})
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == {"s": "</script><!--&\u2028\u2029é"}


def test_a_page_from_a_literal_snapshot_is_strict_and_inert():
    evil = "x\u2028y\u202e" + EVIL_SCRIPT
    result = _literal_result(evil)
    page = render_page(page_data(result), ("/*lib*/ var s = '</script>';", "lib 0"))
    assert "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:" in page
    assert len(re.findall(r"</script", page, re.I)) == 3  # the library's `</script>` became `<\/script>`
    assert "\u2028" not in page and "\u202e" not in page and "<script>alert" not in page
    data = page_data(result)
    (token,) = [n for n in data["nodes"] if n["id"] == "token:0x" + "c" * 40]
    assert token["label"] == "x\\u2028y\\u202e" + EVIL_SCRIPT  # format characters shown escaped
    assert {n["kind"] for n in data["nodes"]} == {"base", "receipt", "market", "accounts", "opaque"}


def test_a_missing_library_says_run_npm_ci(tmp_path, monkeypatch):
    with pytest.raises(HtmlExportError, match="run `npm ci`"):
        load_library(tmp_path)
    monkeypatch.setenv("LOOPSCAN_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(HtmlExportError, match="node_modules/cytoscape/dist/cytoscape.min.js"):
        write_html(_literal_result("V"), tmp_path)

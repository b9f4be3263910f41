"""Token symbols are attacker-controlled: the terminal report shows them as inert text."""

from __future__ import annotations

from report_samples import evil_vault_snapshot
from rich.console import Console

from loopscan.model import Snapshot
from loopscan.report.scan_summary import print_scan_summary
from loopscan.textsafe import terminal_safe

EVIL = "\x1b[2J\x1b[31m[bold]USDC\u202e<img src=x onerror=alert(1)>"


def test_control_characters_are_shown_escaped():
    assert terminal_safe(EVIL) == "\\x1b[2J\\x1b[31m[bold]USDC\\u202e<img src=x onerror=alert(1)>"
    assert terminal_safe("a" * 100).endswith("…") and len(terminal_safe("a" * 100)) == 64


def test_a_report_with_an_evil_symbol_prints_no_escape_sequence(tmp_path):
    snap: Snapshot = evil_vault_snapshot(EVIL)
    console = Console(record=True, width=200, force_terminal=True, color_system=None)
    print_scan_summary(console, snap, 0.1)
    text = console.export_text()
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b[31m[bold]USDC" in text  # shown, escaped, not interpreted as markup

"""Make attacker-controlled strings (token names and symbols) safe for a terminal.

A token's `symbol()` is whatever its deployer chose: it can hold ANSI escape sequences that
rewrite the screen, or rich markup. Everything loopscan prints that came from the chain goes
through `terminal_safe` and is handed to rich as plain `Text`, never as markup.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text

__all__ = ["terminal_safe", "safe_text"]

_MAX_LEN = 64


def terminal_safe(value: str, max_len: int = _MAX_LEN) -> str:
    """`value` with every control or format character shown as an escape (`\\x1b`, `\\u202e`),
    cut to `max_len` characters with an ellipsis."""
    out = []
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


def safe_text(value: str, style: str = "") -> Text:
    """A rich `Text` (never parsed as markup) of the terminal-safe form of `value`."""
    return Text(terminal_safe(value), style=style)

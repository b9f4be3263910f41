"""What the CLI modules share: consoles, the state folder, error handling."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from loopscan.errors import LoopscanError

__all__ = ["console", "err_console", "DEFAULT_STATE_DIR", "LoopscanGroup"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEFAULT_STATE_DIR = Path(".loopscan")


class LoopscanGroup(click.Group):
    """Turns loopscan's own errors into one line and exit code 1 (`--debug`: the traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LoopscanError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            err_console.print(f"error: {' '.join(str(exc).split())}", markup=False, soft_wrap=True)
            sys.exit(1)

"""What the CLI modules share: consoles, the state folder, error handling."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from loopscan.errors import LoopscanError

__all__ = ["console", "err_console", "DEFAULT_STATE_DIR", "LoopscanGroup", "RpcUrl"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEFAULT_STATE_DIR = Path(".loopscan")


class RpcUrl(click.ParamType):
    """An http(s) RPC URL, checked before anything is sent (`loopscan.rpc.check_url`)."""

    name = "url"

    def convert(self, value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from loopscan.rpc.endpoint import check_url  # lazily: the rpc package pulls in aiohttp
        from loopscan.rpc.errors import BadEndpoint

        try:
            check_url(value)
        except BadEndpoint as exc:
            self.fail(str(exc), param, ctx)
        return value


class LoopscanGroup(click.Group):
    """Turns loopscan's own errors into one line and exit code 1, and bad usage into one line
    with a hint and exit code 2 (`--debug`: the traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            path = exc.ctx.command_path if exc.ctx else ctx.command_path
            err_console.print(f"error: {' '.join(exc.format_message().split())} (see '{path} --help')",
                              markup=False, soft_wrap=True)  # fmt: skip
            sys.exit(exc.exit_code)
        except LoopscanError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            err_console.print(f"error: {' '.join(str(exc).split())}", markup=False, soft_wrap=True)
            sys.exit(1)

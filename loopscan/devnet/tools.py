"""The devnet's node-side tools: anvil, solc-js and the protocols' published packages (npm).

A checkout uses `node_modules/` beside its `package.json`, installed by `npm ci` (as `./run.sh`
does). An installed wheel ships `package.json`, `package-lock.json` and `.npmrc`
(`loopscan.shipped`) and installs them with `npm ci` into the cache, one folder per lock file
(`<cache>/node/<lock digest>/node_modules`), the first time a devnet needs them;
`loopscan devnet install` does it ahead of time. The install is built in a temporary folder
and renamed into place, so an interrupted one is never mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from loopscan import shipped
from loopscan.devnet.errors import BuildError

__all__ = ["NPM_FILES", "ToolsError", "cache_dir", "install_hint", "install_tools", "node_modules", "tools_dir"]

NPM_FILES = ("package.json", "package-lock.json", ".npmrc")


class ToolsError(BuildError):
    """The node tools cannot be installed (no node or npm, or `npm ci` failed)."""


def cache_dir() -> Path:
    """Where build output, anvil state dumps and the node tools are cached (`LOOPSCAN_CACHE` overrides)."""
    env = os.environ.get("LOOPSCAN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "loopscan"


def tools_dir() -> Path:
    """The folder holding `node_modules/`: the checkout itself, or a cache folder keyed by the lock."""
    root = shipped.root()
    if not shipped.installed():
        return root
    digest = hashlib.sha256((root / "package-lock.json").read_bytes()).hexdigest()[:16]
    return cache_dir() / "node" / digest


def node_modules(install: bool = True) -> Path:
    """`node_modules/` of the devnet's tools; an installed wheel installs them first if `install`."""
    folder = tools_dir() / "node_modules"
    if install and shipped.installed() and not folder.is_dir():
        install_tools()
    return folder


def install_hint() -> str:
    """What to run when a tool is missing."""
    return "run `loopscan devnet install`" if shipped.installed() else f"run `npm ci` in {tools_dir()}"


def _require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ToolsError(
            f"the devnet needs Node.js (20 or later) and npm to install and run anvil and solc-js, and `{program}` "
            "is not on PATH: install Node.js with npm (e.g. `apt-get install nodejs npm`), then `loopscan devnet install`"
        )
    return found


def install_tools(log=None) -> Path:
    """Run `npm ci` from the shipped package.json and lock into `tools_dir()`; return its node_modules.

    In a checkout this is `npm ci` at the project root (as `./run.sh` does). `log` (default
    stderr) receives npm's output line by line.
    """
    _require("node")
    npm = _require("npm")
    target = tools_dir()
    if not shipped.installed():
        _npm_ci(npm, target, log)
        return target / "node_modules"
    work = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        for name in NPM_FILES:
            shutil.copyfile(shipped.root() / name, work / name)
        _npm_ci(npm, work, log)
        try:
            work.rename(target)
        except OSError:
            if not (target / "node_modules").is_dir():  # another process finishing first is fine
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target / "node_modules"


def _npm_ci(npm: str, folder: Path, log) -> None:
    out = log or sys.stderr
    print(
        f"installing the devnet's node tools (anvil, solc-js, the protocols' packages) with npm ci into {folder}",
        file=out,
    )
    proc = subprocess.Popen([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    tail: list[str] = []
    for line in proc.stdout:
        print(line, end="", file=out)
        tail = [*tail[-19:], line]
    if proc.wait() != 0:
        raise ToolsError(
            f"`npm ci` in {folder} failed with exit code {proc.returncode}: {''.join(tail).strip()[-500:]}"
        )

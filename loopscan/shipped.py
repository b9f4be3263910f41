"""The files loopscan needs beside its code, in a checkout and in an installed wheel alike.

They are the scenarios (`fixtures/scenarios/`), the JSON schemas (`schemas/`), our contracts'
Solidity sources (`contracts/`), the `package.json`, `package-lock.json` and `.npmrc` the devnet
installs its node tools from, and the HTML page's graph library (cytoscape.js with its licence).

A checkout has them where they live in the repository, and the graph library in `node_modules/`
(`npm ci`). A wheel carries the same tree as package data under `loopscan/_shipped/`, and the
graph library under `_shipped/vendor/<package>/`: `setup.py` copies both there when the wheel is
built. Paths relative to `root()` are the same in both (`root() / "fixtures" / "scenarios"`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["DATA_DIR", "SHIPPED_FILES", "VENDORED", "installed", "root", "vendored"]

DATA_DIR = "_shipped"  # inside the `loopscan` package, in a wheel only
# What a wheel ships, as globs relative to the checkout's root (setup.py reads this list).
SHIPPED_FILES = (
    "package.json",
    "package-lock.json",
    ".npmrc",
    "contracts/**/*.sol",
    "fixtures/scenarios/*.toml",
    "schemas/*.json",
)
# npm packages vendored into a wheel, and the files of each it needs.
VENDORED = {"cytoscape": ("dist/cytoscape.min.js", "LICENSE", "package.json")}


def _package_data() -> Path | None:
    data = resources.files("loopscan").joinpath(DATA_DIR)
    # A wheel installed by pip is plain files, so the resource is a real folder.
    return Path(str(data)) if data.is_dir() else None


def installed() -> bool:
    """True when loopscan runs from an installed wheel, False in a checkout (or an editable install)."""
    return "LOOPSCAN_PROJECT_ROOT" not in os.environ and _package_data() is not None


def root() -> Path:
    """Where the shipped files are: `LOOPSCAN_PROJECT_ROOT` if set, the wheel's package data when
    installed, else the checkout holding this package."""
    env = os.environ.get("LOOPSCAN_PROJECT_ROOT")
    if env:
        return Path(env)
    return _package_data() or Path(__file__).resolve().parents[1]


def vendored(package: str, checkout: Path | None = None) -> Path:
    """The folder of npm `package` (a key of `VENDORED`): the wheel's vendored copy when installed,
    else `node_modules/<package>` of the checkout (`checkout`, default `root()`)."""
    if checkout is None and installed():
        return root() / "vendor" / package
    return (checkout or root()) / "node_modules" / package

"""Build hook: a wheel carries the files loopscan needs beside its code (`loopscan/shipped.py`).

Everything else is in pyproject.toml. `build_py` copies `shipped.SHIPPED_FILES` from the checkout
into `loopscan/_shipped/`, and vendors the npm packages in `shipped.VENDORED` (the HTML page's
graph library) from `node_modules/` into `loopscan/_shipped/vendor/`, after checking that the
installed version is the one package-lock.json pins. An editable install reads the checkout
itself, so it copies nothing.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _shipped_module():
    # Loaded by path: the build environment has none of loopscan's dependencies, and this
    # module needs none (stdlib only).
    spec = importlib.util.spec_from_file_location("loopscan_shipped", ROOT / "loopscan" / "shipped.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def ship(target: Path) -> list[Path]:
    """Copy the shipped files and the vendored npm packages into `target`; return what was written."""
    shipped = _shipped_module()
    shutil.rmtree(target, ignore_errors=True)  # an in-tree build/ keeps files a later checkout removed
    written = []
    for pattern in shipped.SHIPPED_FILES:
        matches = sorted(p for p in ROOT.glob(pattern) if p.is_file())
        if not matches:
            raise SystemExit(f"building loopscan: nothing matches {pattern} in {ROOT}")
        for src in matches:
            written.append(target / src.relative_to(ROOT))
            _copy(src, written[-1])
    lock = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    for package, files in shipped.VENDORED.items():
        source = ROOT / "node_modules" / package
        pinned = lock[f"node_modules/{package}"]["version"]
        try:
            found = json.loads((source / "package.json").read_text())["version"]
        except OSError:
            found = None
        if found != pinned:
            raise SystemExit(
                f"building loopscan: the wheel vendors npm {package}@{pinned} from {source}, "
                f"which holds {found or 'nothing'}: run `npm ci` in {ROOT} first"
            )
        for name in files:
            written.append(target / "vendor" / package / name)
            _copy(source / name, written[-1])
    return written


class BuildPyWithShipped(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            ship(Path(self.build_lib) / "loopscan" / _shipped_module().DATA_DIR)


setup(cmdclass={"build_py": BuildPyWithShipped})

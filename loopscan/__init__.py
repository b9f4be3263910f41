"""loopscan: find recursive leverage in DeFi and tell how close it is to collapse.

The package follows one flow (see DESIGN.md): `rpc` → `protocols` → `model.Snapshot` →
`graph` → `solver` → `export`; `devnet` runs the protocols' own contracts on a local anvil.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("loopscan")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

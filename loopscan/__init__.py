"""loopscan: find recursive leverage in DeFi and tell how close it is to collapse.

    >>> import loopscan
    >>> result = loopscan.scan(rpc_url, deployments="mainnet")   # doctest: +SKIP

The package follows one flow (see DESIGN.md): `rpc` → `protocols` → `model.Snapshot` →
`graph` → `solver` → `report` / `export`; `devnet` runs the protocols' own contracts on a
local anvil. `scan` = `index` (read the chain) + `analyse` (graph and solver, no node).
"""

__all__ = ["__version__", "scan", "index", "analyse", "ScanResult"]


def __getattr__(name: str):
    # The API pulls in pandas, networkx and aiohttp, and importlib.metadata costs ~50 ms: load
    # each on first use, not on `import loopscan` (every CLI command imports it).
    if name in ("scan", "index", "analyse", "ScanResult"):
        from loopscan import api

        return getattr(api, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("loopscan")
        except PackageNotFoundError:  # running from a checkout that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'loopscan' has no attribute {name!r}")

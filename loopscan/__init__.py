"""loopscan: find recursive leverage in DeFi and tell how close it is to collapse.

    >>> import loopscan
    >>> result = loopscan.scan(rpc_url, deployments="mainnet")   # doctest: +SKIP

The package follows one flow (see DESIGN.md): `rpc` → `protocols` → `model.Snapshot` →
`graph` → `solver` → `report` / `export`; `devnet` runs the protocols' own contracts on a
local anvil. `scan` = `index` (read the chain) + `analyse` (graph and solver, no node).

Errors: everything loopscan raises on purpose is a `LoopscanError`; the subclasses a caller may
want to tell apart are exported here too (as httpx exports its exception tree)::

    LoopscanError
    ├── RpcError                   the node: TransportError (unreachable, timed out), NodeError
    │                              (an error answer; ExecutionReverted), BadResponse (garbage)
    ├── DeploymentsError           a deployments file or chain name
    ├── UnknownProtocolError       a protocol name nobody registered
    ├── IndexError_                a scan that cannot start (wrong chain, nothing to index)
    ├── SchemaError, SnapshotFormatError, NotInSnapshotError   a snapshot's tables or files
    ├── ExportError                an export format or page
    ├── StoreError                 the history file
    └── DevnetError                the local devnet (BuildError, NodeStartError, ScenarioError)
"""

from importlib import import_module

# Loaded on first use, not on `import loopscan` (every CLI command imports it): the API pulls in
# pandas, networkx and aiohttp, and importlib.metadata costs ~50 ms.
_LAZY = {
    "scan": "loopscan.api", "index": "loopscan.api", "analyse": "loopscan.api", "ScanResult": "loopscan.api",
    "LoopscanError": "loopscan.errors",
    "RpcError": "loopscan.rpc.errors", "TransportError": "loopscan.rpc.errors", "NodeError": "loopscan.rpc.errors",
    "ExecutionReverted": "loopscan.rpc.errors", "BadResponse": "loopscan.rpc.errors",
    "DeploymentsError": "loopscan.chains.deployments", "UnknownProtocolError": "loopscan.protocols.registry",
    "IndexError_": "loopscan.scanner", "SchemaError": "loopscan.model.errors",
    "SnapshotFormatError": "loopscan.model.errors", "NotInSnapshotError": "loopscan.model.errors",
    "ExportError": "loopscan.export", "StoreError": "loopscan.store.errors", "DevnetError": "loopscan.devnet.errors",
}  # fmt: skip

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("loopscan")
        except PackageNotFoundError:  # running from a checkout that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'loopscan' has no attribute {name!r}")

"""The library API, the same one the CLI uses: read a chain, analyse a snapshot, or both.

    >>> import loopscan
    >>> result = loopscan.scan("http://127.0.0.1:8545", deployments=".loopscan/devnet.json")  # doctest: +SKIP
    >>> result.thresholds                                                                     # doctest: +SKIP
"""

from __future__ import annotations

from loopscan.result import ScanResult, analyse
from loopscan.scanner import index

__all__ = ["scan", "index", "analyse", "ScanResult"]


def scan(rpc_url: str, **kwargs) -> ScanResult:
    """`index` the chain at one block (same arguments), then `analyse` the snapshot."""
    return analyse(index(rpc_url, **kwargs))

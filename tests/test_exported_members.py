"""The public surface of `loopscan`, pinned: changing it is a decision, not an accident."""

import loopscan
from loopscan.errors import LoopscanError

EXPORTED = [
    "__version__", "scan", "index", "analyse", "ScanResult", "LoopscanError", "RpcError", "TransportError",
    "NodeError", "ExecutionReverted", "BadResponse", "DeploymentsError", "UnknownProtocolError", "IndexError_",
    "SchemaError", "SnapshotFormatError", "NotInSnapshotError", "ExportError", "StoreError", "DevnetError",
]  # fmt: skip


def test_exported_names() -> None:
    assert sorted(loopscan.__all__) == sorted(EXPORTED)


def test_every_exported_error_is_a_loopscan_error() -> None:
    errors = [getattr(loopscan, n) for n in EXPORTED if n.endswith(("Error", "Error_", "Reverted", "Response"))]
    assert len(errors) == 15
    assert all(issubclass(e, LoopscanError) for e in errors)
    from loopscan import DevnetError, RpcError  # `from loopscan import X` works for the lazy names too

    assert RpcError.__module__ == "loopscan.rpc.errors" and DevnetError.__module__ == "loopscan.devnet.errors"

"""The public surface of loopscan.rpc, pinned: changing it is a decision, not an accident."""

import loopscan.rpc

EXPORTED = [
    "MULTICALL3_ADDRESS", "READ_METHODS", "BadResponse", "BatchTooLarge", "BlockPin", "Call", "CallResult",
    "ExecutionReverted", "HistoricalStateUnavailable", "LogRangeTooLarge", "MulticallLimits", "NodeError",
    "RateLimited", "RateLimiter", "ReorgDetected", "RetryPolicy", "RpcClient", "RpcError", "RpcStats",
    "RpcTimeout", "TransportError", "block_tag", "decode_address", "decode_aggregate3", "decode_bool",
    "decode_int", "decode_revert", "decode_uint", "encode_aggregate3", "InvalidAnswer", "checked_data",
    "decode_answer", "decode_static", "describe_size",
    "BadEndpoint", "NodeUnreachable", "check_url", "encode_call", "get_logs", "mask_url",
    "answer_value", "failure_reason",  # struct and list answers (Comet, EVK getters), read by the indexers
    "multicall", "selector",
    "decode_answers", "encode_calls",  # same-shape reads encoded and decoded as one batch (issue 14)
    "LogCache",  # logs read once for the pins of a backtest (issue 16)
]


def test_exported_names() -> None:
    assert sorted(loopscan.rpc.__all__) == sorted(EXPORTED)
    for name in EXPORTED:
        assert name.isupper() or getattr(loopscan.rpc, name).__module__.startswith("loopscan.rpc")

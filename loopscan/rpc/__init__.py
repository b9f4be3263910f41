"""The only code in loopscan that talks to a node.

Every read goes through one ``RpcClient`` (batching, retries of reads, rate limit, typed
errors), at one pinned block (``client.pin()`` / ``client.verify_pin()``). ``multicall``
packs contract reads into Multicall3 ``aggregate3`` calls (on a chain without Multicall3,
through a state override or plain batches: ``routes``); ``get_logs`` walks block ranges
under the node's ``eth_getLogs`` limits. Every contract answer is checked before it is decoded
(``answers.decode_answer``). Failures are the types in ``errors``.
"""

from .abi import (
    decode_address,
    decode_bool,
    decode_int,
    decode_revert,
    decode_static,
    decode_uint,
    describe_size,
    encode_call,
    encode_calls,
    selector,
)
from .aggregate3 import decode_aggregate3, encode_aggregate3
from .answers import answer_value, checked_data, decode_answer, decode_answers, failure_reason
from .calls import Call, CallResult
from .client import RpcClient, RpcStats
from .endpoint import check_url, mask_url
from .errors import (
    BadEndpoint,
    BadResponse,
    BatchTooLarge,
    ExecutionReverted,
    HistoricalStateUnavailable,
    InvalidAnswer,
    LogRangeTooLarge,
    NodeError,
    NodeUnreachable,
    RateLimited,
    ReorgDetected,
    RpcError,
    RpcTimeout,
    TransportError,
)
from .logcache import LogCache
from .logs import get_logs
from .multicall import MulticallLimits, multicall
from .reads import BlockPin, block_tag
from .retry import READ_METHODS, RateLimiter, RetryPolicy
from .routes import MULTICALL3_ADDRESS

__all__ = [
    "MULTICALL3_ADDRESS",
    "READ_METHODS",
    "BadEndpoint",
    "BadResponse",
    "BatchTooLarge",
    "BlockPin",
    "Call",
    "CallResult",
    "ExecutionReverted",
    "HistoricalStateUnavailable",
    "InvalidAnswer",
    "LogCache",
    "LogRangeTooLarge",
    "MulticallLimits",
    "NodeError",
    "NodeUnreachable",
    "RateLimited",
    "RateLimiter",
    "ReorgDetected",
    "RetryPolicy",
    "RpcClient",
    "RpcError",
    "RpcStats",
    "RpcTimeout",
    "TransportError",
    "block_tag",
    "check_url",
    "checked_data",
    "decode_address",
    "answer_value",
    "decode_answer",
    "decode_answers",
    "decode_aggregate3",
    "decode_bool",
    "decode_int",
    "decode_revert",
    "decode_static",
    "decode_uint",
    "describe_size",
    "encode_aggregate3",
    "encode_call",
    "encode_calls",
    "failure_reason",
    "get_logs",
    "mask_url",
    "multicall",
    "selector",
]

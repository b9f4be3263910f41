"""One bare anvil per session, at a fixed state the rpc tests read (async tests: ``tests/conftest.py``).

The state is built with anvil's own cheat methods: the runtime code of loopscan's own
Multicall3-compatible contract (``contracts/utils/Multicall3.sol``, compiled through the
devnet's cached build) at Multicall3's canonical address, and three hand-assembled contracts:

* ``REVERTER`` reverts with its calldata as revert data, so a test chooses the reason;
* ``BURNER`` loops ``n`` times (``n`` = first calldata word) and returns ``n``: a call of
  known gas cost, for gas-starvation tests;
* ``EMITTER`` emits ``LOG1(topic = first calldata word, data = the rest)``; the session
  sends it transactions spread over about 1,500 blocks, so ``eth_getLogs`` has a range to walk.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rpcnode import Anvil, seed, start_anvil, stop_anvil


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    node, _ = start_anvil()
    try:
        yield seed(node)
    finally:
        stop_anvil(node)

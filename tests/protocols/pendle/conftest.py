"""The Pendle devnet, started once per session and stopped at the end; each test gets it back at
the state right after the market was seeded (`evm_snapshot` / `evm_revert`)."""

from __future__ import annotations

import pytest
from pendle_devnet import deploy_market

from loopscan.devnet.node import Anvil


@pytest.fixture(scope="session")
def pendle_session():
    node = Anvil().start()
    try:
        yield deploy_market(node)
    finally:
        node.stop()


@pytest.fixture
def pendle_net(pendle_session):
    node = pendle_session.chain.node
    snapshot = node.snapshot()
    try:
        yield pendle_session
    finally:
        node.revert(snapshot)
        pendle_session.chain.forget_funding()

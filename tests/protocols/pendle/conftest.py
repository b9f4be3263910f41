"""The Pendle devnet, started once per session and stopped at the end; each test gets it back at
the state right after the market was seeded (`evm_snapshot` / `evm_revert`)."""

from __future__ import annotations

import pytest
from own_node import own_node, reverted
from pendle_devnet import deploy_market


@pytest.fixture(scope="session")
def pendle_session():
    yield from own_node(deploy_market)


@pytest.fixture
def pendle_net(pendle_session):
    yield from reverted(pendle_session)

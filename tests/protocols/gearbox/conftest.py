"""The Gearbox devnet, started once per session and stopped at the end; each test gets it back at
the state right after the credit account was opened (`evm_snapshot` / `evm_revert`)."""

from __future__ import annotations

import pytest
from gearbox_devnet import deploy_market
from own_node import own_node, reverted


@pytest.fixture(scope="session")
def gearbox_session():
    yield from own_node(deploy_market)


@pytest.fixture
def gearbox_net(gearbox_session):
    yield from reverted(gearbox_session)

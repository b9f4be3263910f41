"""The Gearbox devnet, started once per session and stopped at the end; each test gets it back at
the state right after the credit account was opened (`evm_snapshot` / `evm_revert`)."""

from __future__ import annotations

import pytest
from gearbox_devnet import deploy_market

from loopscan.devnet.node import Anvil


@pytest.fixture(scope="session")
def gearbox_session():
    node = Anvil().start()
    try:
        yield deploy_market(node)
    finally:
        node.stop()


@pytest.fixture
def gearbox_net(gearbox_session):
    node = gearbox_session.chain.node
    snapshot = node.snapshot()
    try:
        yield gearbox_session
    finally:
        node.revert(snapshot)
        gearbox_session.chain.forget_funding()

"""A devnet of a test folder's own (a protocol deployed on a bare anvil, not a scenario): started
once per session, each test reverted to the state right after the deployment."""

from __future__ import annotations

from loopscan.devnet.node import Anvil


def own_node(deploy):
    """Session fixture body: a fresh anvil with `deploy(node)` run on it, stopped at the end."""
    node = Anvil().start()
    try:
        yield deploy(node)
    finally:
        node.stop()


def reverted(session):
    """Test fixture body: the session's chain, reverted (and its funding forgotten) after the test."""
    node = session.chain.node
    snapshot = node.snapshot()
    try:
        yield session
    finally:
        node.revert(snapshot)
        session.chain.forget_funding()

"""One devnet per scenario per test session, each on its own free port, reverted after each test.

The first start of a scenario on a machine compiles and seeds (about a minute, mostly via-IR
builds); later starts load the cached state in well under a second.
"""

from __future__ import annotations

import pytest

from loopscan import devnet


def _session_devnet(name: str):
    net = devnet.start(name)
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="session")
def stream_session():
    yield from _session_devnet("stream-2025")


@pytest.fixture(scope="session")
def susde_session():
    yield from _session_devnet("susde-aave-loop")


@pytest.fixture(scope="session")
def minimal_session():
    yield from _session_devnet("minimal")


def _reverted(net):
    snapshot = net.snapshot()
    yield net
    net.revert(snapshot)


@pytest.fixture
def stream(stream_session):
    yield from _reverted(stream_session)


@pytest.fixture
def susde(susde_session):
    yield from _reverted(susde_session)


@pytest.fixture
def minimal(minimal_session):
    yield from _reverted(minimal_session)

"""Fixtures every test folder shares: one devnet per scenario per session, and async tests.

Each scenario's devnet starts once per session on a free port (the first start on a machine
builds and seeds it, about a minute; later starts load the cached state) and is reverted to
its seeded state after every test that uses it. `async def` tests run in a fresh event loop,
so no pytest-asyncio is needed.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
from scan_helpers import seeded_snapshot

from loopscan import devnet
from loopscan.result import analyse


def _session(scenario: str):
    net = devnet.start(scenario)
    try:
        yield net
    finally:
        net.stop()


def _reverted(net):
    snapshot = net.snapshot()
    try:
        yield net
    finally:
        net.revert(snapshot)


@pytest.fixture(scope="session")
def stream_session():
    yield from _session("stream-2025")


@pytest.fixture(scope="session")
def susde_session():
    yield from _session("susde-aave-loop")


@pytest.fixture(scope="session")
def minimal_session():
    yield from _session("minimal")


@pytest.fixture(scope="session")
def mainnet_zoo_session():
    yield from _session("mainnet-zoo")


@pytest.fixture
def stream(stream_session):
    yield from _reverted(stream_session)


@pytest.fixture
def susde(susde_session):
    yield from _reverted(susde_session)


@pytest.fixture
def minimal(minimal_session):
    yield from _reverted(minimal_session)


@pytest.fixture
def mainnet_zoo(mainnet_zoo_session):
    yield from _reverted(mainnet_zoo_session)


@pytest.fixture(scope="session")
def stream_result(stream_session):
    """stream-2025 at its seeded block, indexed and analysed once: reading needs no revert."""
    return analyse(asyncio.run(seeded_snapshot(stream_session)))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True

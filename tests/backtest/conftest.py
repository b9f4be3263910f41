"""The timeline devnet, once per session: the Stream collapse in daily blocks."""

from __future__ import annotations

import pytest

from loopscan import devnet


@pytest.fixture(scope="session")
def timeline():
    net = devnet.start("stream-2025-timeline")
    try:
        yield net
    finally:
        net.stop()

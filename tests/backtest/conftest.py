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


def day_blocks(net, *dates: str) -> list[int]:
    """The last block of each named day of the timeline (from the manifest)."""
    by_date = {d["date"]: d["block"] for d in net.manifest["timeline"]}
    return [by_date[d] for d in dates]

"""Fixtures for the model tests."""

import pytest
from model_samples import sample_meta, sample_snapshot

from loopscan.model import Snapshot, SnapshotMeta


@pytest.fixture
def meta() -> SnapshotMeta:
    return sample_meta()


@pytest.fixture
def full(meta: SnapshotMeta) -> Snapshot:
    return sample_snapshot(meta)

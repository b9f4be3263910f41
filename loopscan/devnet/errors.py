"""Errors of the devnet: building contracts, running anvil, seeding scenarios."""

from __future__ import annotations

from loopscan.errors import LoopscanError

__all__ = ["DevnetError", "BuildError", "NodeStartError", "ScenarioError"]


class DevnetError(LoopscanError):
    """Base of every devnet failure."""


class BuildError(DevnetError):
    """A contract could not be compiled, found or linked."""


class NodeStartError(DevnetError):
    """anvil could not be started or did not answer."""


class ScenarioError(DevnetError):
    """A scenario file is wrong or one of its steps failed on chain.

    The message names the file, the step (index and action) and, for a revert, its reason.
    """

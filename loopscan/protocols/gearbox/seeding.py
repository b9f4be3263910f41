"""Gearbox v3.1 on the devnet: the scenario's `[gearbox]` section (`loopscan.devnet.part`)."""

from __future__ import annotations

from loopscan.devnet.part import Part
from loopscan.protocols.gearbox.devnet import UNITS

__all__ = ["PART", "UNITS", "GearboxPart"]


class GearboxPart(Part):
    pass


PART = GearboxPart

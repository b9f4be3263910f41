"""The store's one error type."""

from loopscan.errors import LoopscanError

__all__ = ["StoreError"]


class StoreError(LoopscanError):
    """The history file cannot be opened, read or written; the message names the file and why."""

"""The root of every error loopscan raises on purpose.

Each package subclasses ``LoopscanError`` for its own failures, so a caller (the CLI,
the monitor) can catch the project's errors in one ``except`` and let real bugs
(``TypeError``, ``AttributeError``...) surface with their tracebacks.
"""

__all__ = ["LoopscanError"]


class LoopscanError(Exception):
    """Base class of all errors loopscan raises deliberately."""

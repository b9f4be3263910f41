"""The backtest's own error."""

from loopscan.errors import LoopscanError

__all__ = ["BacktestError"]


class BacktestError(LoopscanError):
    """A backtest cannot be planned or run; the message names what and why."""

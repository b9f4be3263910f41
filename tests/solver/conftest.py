"""The solver's truth tests use the shared devnets of `tests/conftest.py` (`stream`, `susde`)."""

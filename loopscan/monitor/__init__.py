"""Scheduled monitoring: scans on a schedule, kept in the history store, alert rules, sinks, metrics.

    >>> from loopscan.monitor import Monitor, Schedule, load_config      # doctest: +SKIP
    >>> async with Monitor(url, deployments, load_config("rules.toml"), "history.duckdb") as m:
    ...     await m.tick()

``readings`` turns a scan into named numbers, ``config`` reads the rules file, ``evaluate``
decides which alerts to raise (pure), ``sinks`` delivers them, ``prometheus`` exposes the
metrics, and ``runner`` ties them to the schedule and the store.
"""

from loopscan.monitor.config import ConfigError, MonitorConfig, Rule, Severity, SinkConfig, load_config, parse_config
from loopscan.monitor.prometheus import MonitorMetrics
from loopscan.monitor.readings import METRICS, readings
from loopscan.monitor.runner import Monitor, Schedule, TickReport, parse_duration

__all__ = [
    "METRICS",
    "ConfigError",
    "Monitor",
    "MonitorConfig",
    "MonitorMetrics",
    "Rule",
    "Schedule",
    "Severity",
    "SinkConfig",
    "TickReport",
    "load_config",
    "parse_config",
    "parse_duration",
    "readings",
]

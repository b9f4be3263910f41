"""The monitor's configuration file (`--rules rules.toml`): alert rules and where alerts go.

    [[rule]]
    name = "xusd-near-liquidation"      # unique; names the alert
    metric = "depeg_first_liquidation_frac"
    below = 0.10                        # one of: below, above, at_least, at_most, change_above
    subjects = ["xUSD"]                 # optional: token/market addresses or labels (symbols)
    severity = "warning"                # info | warning | critical

    [[rule]]
    name = "new-loop"
    metric = "new_loop"                 # takes no bound
    severity = "info"

    [[sink]]
    kind = "webhook"                    # stdout is always on
    format = "slack"                    # json | slack | discord
    url_env = "SLACK_WEBHOOK_URL"       # or url = "https://..." (never printed unmasked)

    [monitor]
    outage_severity = "critical"        # the alert sent once when scans start failing

Metrics are those of `readings.METRICS`. `change_above` fires once per scan whose value moved
by more than the bound since the previous scan (a threshold that does not exist counts as a
100 % shock); `new_loop` fires for each loop that the previous scan did not have. Every other
rule is a condition: it fires once when it starts to hold and sends a resolution when it stops.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from loopscan.errors import LoopscanError
from loopscan.monitor.readings import METRICS
from loopscan.rpc import mask_url

__all__ = ["ConfigError", "MonitorConfig", "Rule", "Severity", "SinkConfig", "load_config", "OPS", "NEW_LOOP", "SCAN_FAILING"]

NEW_LOOP = "new_loop"
SCAN_FAILING = "scan_failing"  # the built-in rule of the outage alert; not usable in a file
OPS = ("below", "above", "at_least", "at_most", "change_above")
_FORMATS = ("json", "slack", "discord")


class ConfigError(LoopscanError):
    """The rules file cannot be used; the message names the file, the entry and the fix."""


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    op: str | None  # one of OPS; None for new_loop and the outage rule
    bound: float | None
    severity: Severity
    subjects: tuple[str, ...] = ()  # lower-case; empty: every subject

    @property
    def is_event(self) -> bool:
        """Events fire once per scan they happen in; conditions fire once and then resolve."""
        return self.op == "change_above" or self.metric == NEW_LOOP

    def applies_to(self, subject: str, label: str | None) -> bool:
        return not self.subjects or subject.lower() in self.subjects or (label or "").lower() in self.subjects


@dataclass(frozen=True)
class SinkConfig:
    kind: str  # "webhook"
    name: str
    url: str
    format: str = "json"
    timeout: float = 10.0
    retries: int = 3

    def __repr__(self) -> str:  # the URL is a secret (Slack and Discord webhook URLs are credentials)
        return f"SinkConfig(kind={self.kind!r}, name={self.name!r}, url={mask_url(self.url)!r}, format={self.format!r})"


@dataclass(frozen=True)
class MonitorConfig:
    rules: tuple[Rule, ...] = ()
    sinks: tuple[SinkConfig, ...] = ()
    outage_severity: Severity = Severity.CRITICAL

    @property
    def outage_rule(self) -> Rule:
        return Rule(SCAN_FAILING, SCAN_FAILING, None, None, self.outage_severity)


def load_config(path: str | Path) -> MonitorConfig:
    """Parse and check a rules file; every mistake is a `ConfigError` naming where it is."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such rules file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def parse_config(data: dict, source: str) -> MonitorConfig:
    """`load_config` of an already parsed document; `source` names it in errors."""
    _known_keys(data, {"rule", "sink", "monitor"}, source)
    rules = tuple(_rule(entry, f"{source}: rule {i + 1}") for i, entry in enumerate(_tables(data, "rule", source)))
    names = [r.name for r in rules]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{source}: rule name {name!r} is used twice; names must be unique (they key the alerts)")
    sinks = tuple(_sink(entry, f"{source}: sink {i + 1}") for i, entry in enumerate(_tables(data, "sink", source)))
    sink_names = [s.name for s in sinks]
    for name in sink_names:
        if sink_names.count(name) > 1 or name == "stdout":
            raise ConfigError(f"{source}: sink name {name!r} is used twice (or is 'stdout'); give each sink a unique `name`")
    monitor = data.get("monitor", {})
    if not isinstance(monitor, dict):
        raise ConfigError(f"{source}: [monitor] must be a table")
    _known_keys(monitor, {"outage_severity"}, f"{source}: [monitor]")
    return MonitorConfig(rules, sinks, _severity(monitor.get("outage_severity", "critical"), f"{source}: [monitor]"))


def _tables(data: dict, key: str, source: str) -> list[dict]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{source}: `{key}` must be a list of tables, written [[{key}]]")
    return entries


def _known_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _severity(value: object, where: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise ConfigError(f"{where}: severity {value!r} is not one of {', '.join(s.value for s in Severity)}") from None


def _rule(entry: dict, where: str) -> Rule:
    _known_keys(entry, {"name", "metric", "severity", "subjects", *OPS}, where)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: needs a `name`")
    where = f"{where} ({name!r})"
    if name == SCAN_FAILING:
        raise ConfigError(f"{where}: {SCAN_FAILING!r} is the built-in outage alert; set [monitor] outage_severity instead")
    metric = entry.get("metric")
    if metric != NEW_LOOP and metric not in METRICS:
        raise ConfigError(f"{where}: unknown metric {metric!r}; known: {', '.join([*METRICS, NEW_LOOP])}")
    ops = [op for op in OPS if op in entry]
    if metric == NEW_LOOP:
        if ops:
            raise ConfigError(f"{where}: {NEW_LOOP} takes no bound (found {', '.join(ops)})")
        op, bound = None, None
    else:
        if len(ops) != 1:
            raise ConfigError(f"{where}: needs exactly one of {', '.join(OPS)} (found {', '.join(ops) or 'none'})")
        op = ops[0]
        bound = entry[op]
        if isinstance(bound, bool) or not isinstance(bound, int | float):
            raise ConfigError(f"{where}: {op} must be a number, not {bound!r}")
        bound = float(bound)
    subjects = entry.get("subjects", [])
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        raise ConfigError(f"{where}: subjects must be a list of addresses or labels")
    if "severity" not in entry:
        raise ConfigError(f"{where}: needs a severity ({', '.join(s.value for s in Severity)})")
    return Rule(name, metric, op, bound, _severity(entry["severity"], where), tuple(s.lower() for s in subjects))


def _sink(entry: dict, where: str) -> SinkConfig:
    _known_keys(entry, {"kind", "name", "url", "url_env", "format", "timeout", "retries"}, where)
    if entry.get("kind") != "webhook":
        raise ConfigError(f"{where}: kind {entry.get('kind')!r} is not 'webhook' (stdout is always on)")
    if ("url" in entry) == ("url_env" in entry):
        raise ConfigError(f"{where}: give exactly one of `url` or `url_env` (the name of a variable holding it)")
    if "url_env" in entry:
        url = os.environ.get(entry["url_env"], "")
        if not url:
            raise ConfigError(f"{where}: environment variable {entry['url_env']} is not set")
    else:
        url = entry["url"]
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: url {mask_url(str(url))!r} is not an http(s) URL")
    fmt = entry.get("format", "json")
    if fmt not in _FORMATS:
        raise ConfigError(f"{where}: format {fmt!r} is not one of {', '.join(_FORMATS)}")
    timeout, retries = entry.get("timeout", 10.0), entry.get("retries", 3)
    if not isinstance(timeout, int | float) or timeout <= 0 or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"{where}: timeout must be a positive number of seconds and retries a count ≥ 0")
    name = entry.get("name") or f"{fmt}-{parts.hostname}"
    return SinkConfig("webhook", str(name), url, fmt, float(timeout), retries)

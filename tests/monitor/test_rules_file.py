"""The rules file: what a correct one gives, and the one-line error each mistake gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopscan.monitor import ConfigError, Severity, load_config

GOOD = """
[[rule]]
name = "near-liquidation"
metric = "depeg_first_liquidation_frac"
below = 0.1
subjects = ["xUSD", "0xF90D8362339F3C254A1BFB82F439B10012BF455E"]
severity = "warning"

[[rule]]
name = "moved"
metric = "depeg_bad_debt_frac"
change_above = 0.02
severity = "info"

[[rule]]
name = "loops"
metric = "new_loop"
severity = "critical"

[[sink]]
name = "team"
format = "slack"
kind = "webhook"
url_env = "LOOPSCAN_TEST_HOOK"

[monitor]
outage_severity = "warning"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def test_a_good_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPSCAN_TEST_HOOK", "https://hooks.slack.com/services/T000/B000/SECRET")
    config = load_config(write(tmp_path, GOOD))
    near, moved, loops = config.rules
    assert (near.metric, near.op, near.bound, near.severity) == ("depeg_first_liquidation_frac", "below", 0.1, Severity.WARNING)
    assert near.applies_to("0xf90d8362339f3c254a1bfb82f439b10012bf455e", "anything") and near.applies_to("0x1", "XUSD")
    assert not near.applies_to("0x1", "sdeUSD")
    assert not near.is_event and moved.is_event and loops.is_event and loops.op is None
    (sink,) = config.sinks
    assert (sink.name, sink.format, sink.url) == ("team", "slack", "https://hooks.slack.com/services/T000/B000/SECRET")
    assert "SECRET" not in repr(sink) and "SECRET" not in repr(config)
    assert config.outage_severity == Severity.WARNING


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\nname = 'x'", r"rules.toml: not valid TOML: .*line 1"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage'\nabove = 3\nseverity = 'info'",
         r"rule 1 \('x'\): unknown metric 'leverage'; known: .*leverage_x"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nbellow = 3\nseverity = 'info'", r"rule 1: unknown key\(s\) bellow"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nabove = 3\nbelow = 9\nseverity = 'info'",
         r"needs exactly one of below, above, at_least, at_most, change_above \(found below, above\)"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nabove = '3'\nseverity = 'info'", r"above must be a number, not '3'"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nabove = 3", r"rule 1 \('x'\): needs a severity"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nabove = 3\nseverity = 'high'", r"severity 'high' is not one of info, warning, critical"),
        ("[[rule]]\nname = 'x'\nmetric = 'new_loop'\nabove = 1\nseverity = 'info'", r"new_loop takes no bound"),
        ("[[rule]]\nname = 'x'\nmetric = 'leverage_x'\nabove = 3\nseverity = 'info'\n" * 2, r"rule name 'x' is used twice"),
        ("[[rule]]\nname = 'scan_failing'\nmetric = 'leverage_x'\nabove = 3\nseverity = 'info'", r"built-in outage alert"),
        ("[[sink]]\nkind = 'webhook'", r"sink 1: give exactly one of `url` or `url_env`"),
        ("[[sink]]\nkind = 'webhook'\nurl_env = 'LOOPSCAN_NOT_SET_ANYWHERE'", r"environment variable LOOPSCAN_NOT_SET_ANYWHERE is not set"),
        ("[[sink]]\nkind = 'email'\nurl = 'x'", r"kind 'email' is not 'webhook'"),
        ("[[sink]]\nkind = 'webhook'\nurl = 'ftp://user:hunter2@host/x'", r"url 'ftp://\*\*\*@host/\*\*\*' is not an http\(s\) URL"),
        ("[[sink]]\nkind = 'webhook'\nurl = 'http://h/x'\nformat = 'teams'", r"format 'teams' is not one of json, slack, discord"),
        ("rule = 3", r"`rule` must be a list of tables, written \[\[rule\]\]"),
        ("[alerts]\nx = 1", r"unknown key\(s\) alerts"),
    ],
)  # fmt: skip
def test_each_mistake_is_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        load_config(write(tmp_path, text))
    assert "hunter2" not in str(err.value)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.toml: no such rules file"):
        load_config(tmp_path / "nope.toml")


def test_the_documented_example_is_valid() -> None:
    config = load_config(Path(__file__).parents[2] / "docs" / "rules.example.toml")
    assert [r.name for r in config.rules] == ["near-first-liquidation", "near-bad-debt", "liquidatable-now", "bad-debt-now",
                                              "threshold-moved", "leveraged-receipt",
                                              "opaque-backing", "lenders-stuck", "new-loop"]  # fmt: skip

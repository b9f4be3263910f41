"""Where alerts go: the log (always) and webhooks (JSON, Slack or Discord payloads).

Labels are token symbols read from the chain, i.e. attacker-controlled: the log strips
terminal control sequences, Slack text escapes `& < >` (so `<!channel>` cannot ping), Discord
disables every mention and escapes its markdown. Webhook URLs are credentials: only their
masked form appears in messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Protocol

import aiohttp

from loopscan.errors import LoopscanError
from loopscan.monitor.config import SinkConfig
from loopscan.rpc import mask_url
from loopscan.store.alerts import Alert
from loopscan.textsafe import terminal_safe

__all__ = ["Sink", "LogSink", "WebhookSink", "DeliveryError", "payload", "alert_line"]

log = logging.getLogger("loopscan.monitor")

_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}


class DeliveryError(LoopscanError):
    """A sink did not accept an alert; it stays pending and is retried on the next tick.
    `refused`: the receiver answered that this payload is not acceptable (HTTP 4xx other than
    408/429), which a retry is unlikely to change."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class Sink(Protocol):
    name: str

    async def send(self, alert: Alert) -> None: ...


def alert_line(alert: Alert) -> str:
    """One line naming the alert, for the log and chat payloads (not yet escaped)."""
    what = f"{alert.label} ({alert.subject})" if alert.label and alert.label != alert.subject else alert.subject
    block = f" at block {alert.block_number}" if alert.block_number is not None else ""
    return f"[{alert.severity.upper()}] {alert.event}: {alert.rule}: {what}: {alert.message}{block}"


class LogSink:
    """Writes each alert as one line through `emit` (the CLI passes its console's print)."""

    name = "stdout"

    def __init__(self, emit) -> None:
        self._emit = emit

    async def send(self, alert: Alert) -> None:
        self._emit(terminal_safe(alert_line(alert), max_len=2000))


class WebhookSink:
    """POSTs the alert as JSON with an `Idempotency-Key` header; retries transient failures."""

    def __init__(self, config: SinkConfig, session: aiohttp.ClientSession, backoff: float = 0.5) -> None:
        self.name = config.name
        self.config = config
        self._session = session
        self._backoff = backoff

    async def send(self, alert: Alert) -> None:
        body = json.dumps(payload(alert, self.config.format)).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert.key}
        where = f"webhook {self.name} ({mask_url(self.config.url)})"
        last, refused = "", False
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            try:
                timeout = aiohttp.ClientTimeout(total=self.config.timeout)
                async with self._session.post(self.config.url, data=body, headers=headers, timeout=timeout) as r:
                    if 200 <= r.status < 300:
                        return
                    last = f"HTTP {r.status}"
                    refused = r.status < 500 and r.status not in (408, 429)
                    if refused:
                        break  # the receiver refuses this payload: retrying now will not change that
            except (aiohttp.ClientError, TimeoutError) as exc:
                # aiohttp's messages can hold the URL: name the error's type, never its text.
                last, refused = ("timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}"), False
            log.warning("%s: attempt %d failed: %s", where, attempt + 1, last)
        raise DeliveryError(f"{where}: {last}", refused=refused)


def payload(alert: Alert, fmt: str) -> dict:
    """The webhook body for `fmt`: `json` (every field), `slack` or `discord` (a message)."""
    if fmt == "slack":
        text = alert_line(alert).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {"text": f"{_ICONS.get(alert.severity, '')} loopscan {text}"}
    if fmt == "discord":
        text = "".join("\\" + c if c in "\\*_~`|>#[]()-" else c for c in alert_line(alert))
        return {"content": f"{_ICONS.get(alert.severity, '')} loopscan {text}"[:2000], "allowed_mentions": {"parse": []}}
    return {
        "idempotency_key": alert.key, "event": alert.event, "rule": alert.rule, "severity": alert.severity,
        "subject_kind": alert.subject_kind, "subject": alert.subject, "label": alert.label, "metric": alert.metric,
        "value": _json_number(alert.value), "previous": _json_number(alert.previous), "bound": _json_number(alert.bound),
        "message": alert.message, "chain_id": alert.chain_id, "block": alert.block_number, "scan_id": alert.scan_id,
        "created_at": alert.created_at.isoformat(),
    }  # fmt: skip


def _json_number(x: float | None) -> float | str | None:
    # JSON has no infinity; a leverage with no equity left under it is infinite.
    return x if x is None or math.isfinite(x) else str(x)

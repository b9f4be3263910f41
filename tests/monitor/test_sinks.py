"""Webhook payloads (escaped for each chat), retries, and failures that name the sink, not its secret."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest
from webhook_server import WebhookServer

from loopscan.devnet.node import free_port
from loopscan.monitor.config import SinkConfig
from loopscan.monitor.sinks import DeliveryError, LogSink, WebhookSink, payload
from loopscan.store import Alert

HOSTILE = "<!channel> @everyone **x**\x1b[2J"


def alert(label: str = "xUSD", value: float | None = 0.0797) -> Alert:
    return Alert(key="k" * 32, event="firing", rule="near", severity="critical", subject_kind="token",
                 subject="0x" + "1" * 40, label=label, metric="depeg_first_liquidation_frac", value=value, previous=None,
                 bound=0.1, message="depeg_first_liquidation_frac = 0.0797, below 0.1", scan_id="t1", chain_id=1,
                 block_number=115, created_at=datetime(2026, 11, 25, 12, tzinfo=UTC))  # fmt: skip


def test_json_payload_has_every_field_and_no_infinity() -> None:
    body = payload(alert(value=float("inf")), "json")
    assert body["idempotency_key"] == "k" * 32 and body["block"] == 115 and body["value"] == "inf"
    assert body["created_at"] == "2026-11-25T12:00:00+00:00" and body["bound"] == 0.1


def test_chat_payloads_cannot_ping_or_format_from_a_symbol() -> None:
    slack = payload(alert(HOSTILE), "slack")["text"]
    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack
    discord = payload(alert(HOSTILE), "discord")
    assert discord["allowed_mentions"] == {"parse": []} and "\\*\\*x\\*\\*" in discord["content"]


async def test_the_log_line_is_terminal_safe() -> None:
    lines: list[str] = []
    await LogSink(lines.append).send(alert(HOSTILE))
    assert lines == ["[CRITICAL] firing: near: <!channel> @everyone **x**\\x1b[2J (0x1111111111111111111111111111111111111111): "
                     "depeg_first_liquidation_frac = 0.0797, below 0.1 at block 115"]  # fmt: skip


async def test_transient_failures_are_retried_with_the_same_key() -> None:
    with WebhookServer() as server:
        server.fail_next(2)
        async with aiohttp.ClientSession() as session:
            await WebhookSink(SinkConfig("webhook", "hook", server.url, retries=3), session, backoff=0.01).send(alert())
    assert server.refused == 2
    assert [(key, body["rule"]) for key, body in server.received] == [("k" * 32, "near")]


async def test_an_unreachable_or_refusing_hook_is_a_named_error_without_its_secret() -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook/SECRET-TOKEN"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(DeliveryError, match=r"webhook hook \(http://127.0.0.1:\d+/\*\*\*/\*\*\*\): ClientConnectorError") as err:
            await WebhookSink(SinkConfig("webhook", "hook", dead, retries=1), session, backoff=0.01).send(alert())
        assert "SECRET" not in str(err.value)
        with WebhookServer() as server:
            server.fail_next(10)
            with pytest.raises(DeliveryError, match=r"HTTP 500"):
                await WebhookSink(SinkConfig("webhook", "hook", server.url, retries=2), session, backoff=0.01).send(alert())
            assert server.refused == 3 and server.received == []

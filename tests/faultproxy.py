"""A real HTTP proxy between the client and anvil that injects faults on a programmable schedule.

The client under test talks HTTP to this proxy exactly as it would to a provider, so every
fault travels the real path: aiohttp's parser, the status line, a body cut short, a socket
closed mid-answer. ``FaultProxy.url`` carries a fake key in its path and query, so tests can
check that no error message leaks it.

A ``Fault`` applies to the next HTTP request that contains a matching call (by method and an
optional predicate on the call), ``times`` times over; faults are consumed first in, first out.
Every request is recorded in ``seen`` (the methods it carried) and every call in ``calls``, to
count what was re-sent and see how it was asked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

FAKE_KEY = "SECRETKEY0123456789abcdef"
FAKE_QUERY_KEY = "hunter2hunter2"

JsonCall = dict[str, Any]


@dataclass
class Fault:
    """What to do to a request: see the constructors below."""

    kind: str
    method: str | None = None
    where: Callable[[JsonCall], bool] | None = None
    times: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    def matches(self, call: JsonCall) -> bool:
        return (self.method is None or call.get("method") == self.method) and (
            self.where is None or self.where(call)
        )


def delay(seconds: float, **match: Any) -> Fault:
    """Answer only after ``seconds``: longer than the client's timeout, it is a timeout."""
    return Fault("delay", options={"seconds": seconds}, **match)


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None, **match: Any) -> Fault:
    """Answer with this HTTP status and body without asking anvil (429, 500, 502, 503...)."""
    return Fault("status", options={"code": code, "body": body, "headers": headers or {}}, **match)


def garbage(**match: Any) -> Fault:
    """A 200 whose body is an HTML error page, as some gateways send."""
    return status(200, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"}, **match)


def truncate(**match: Any) -> Fault:
    """Anvil's answer cut in half, with a Content-Length that agrees: well framed, broken JSON."""
    return Fault("truncate", **match)


def drop(**match: Any) -> Fault:
    """Close the connection without answering."""
    return Fault("drop", **match)


def drop_mid_body(**match: Any) -> Fault:
    """Announce the full Content-Length, send half the body, close the connection."""
    return Fault("drop_mid_body", **match)


def rpc_error(code: int, message: str, data: Any = None, **match: Any) -> Fault:
    """Anvil's answer with each matching call's answer replaced by this JSON-RPC error."""
    error = {"code": code, "message": message} | ({"data": data} if data is not None else {})
    return Fault("rpc_error", options={"error": error}, **match)


def refuse_overrides(times: int = 10**9) -> Fault:
    """Answer every ``eth_call`` that carries a third parameter (a state override) with the
    error geth gave before it accepted overrides; ``times`` requests over (default: always)."""
    return rpc_error(-32602, "too many arguments, want at most 2", method="eth_call",
                     where=lambda call: len(call.get("params", [])) > 2, times=times)  # fmt: skip


def drop_item(**match: Any) -> Fault:
    """Anvil's batch answer without the answers of the matching calls (a missing id)."""
    return Fault("drop_item", **match)


def duplicate_item(**match: Any) -> Fault:
    """Anvil's batch answer with a matching call answered twice."""
    return Fault("duplicate_item", **match)


def mutate(fn: Callable[[JsonCall, dict[str, Any]], dict[str, Any]], **match: Any) -> Fault:
    """Anvil's answer with each matching call's answer replaced by ``fn(call, answer)``."""
    return Fault("mutate", options={"fn": fn}, **match)


class FaultProxy:
    """``async with FaultProxy(upstream) as proxy:`` then point a client at ``proxy.url``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: list[Fault] = []
        self.seen: list[list[str]] = []
        self.calls: list[JsonCall] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    def add(self, *faults: Fault) -> FaultProxy:
        self.faults.extend(faults)
        return self

    def count(self, method: str) -> int:
        """How many times ``method`` reached the proxy, re-sends included."""
        return sum(methods.count(method) for methods in self.seen)

    async def __aenter__(self) -> FaultProxy:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v2/{FAKE_KEY}?apikey={FAKE_QUERY_KEY}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._session is not None and self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    def _take(self, calls: list[JsonCall]) -> Fault | None:
        for fault in self.faults:
            if any(fault.matches(call) for call in calls):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _forward(self, body: bytes) -> tuple[int, bytes]:
        assert self._session is not None
        async with self._session.post(self.upstream, data=body,
                                      headers={"Content-Type": "application/json"}) as response:
            return response.status, await response.read()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        doc = json.loads(body)
        calls = doc if isinstance(doc, list) else [doc]
        self.seen.append([call.get("method") for call in calls])
        self.calls.extend(calls)
        fault = self._take(calls)
        if fault is None:
            code, answer = await self._forward(body)
            return web.Response(status=code, body=answer, content_type="application/json")
        options = fault.options
        if fault.kind == "status":
            return web.Response(status=options["code"], body=options["body"], headers=options["headers"])
        if fault.kind == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault.kind == "delay":
            try:
                await asyncio.wait_for(self._closing.wait(), options["seconds"])
            except TimeoutError:
                pass
            if self._closing.is_set():
                return web.Response(status=503)
        code, answer = await self._forward(body)
        if fault.kind == "truncate":
            return web.Response(status=code, body=answer[: len(answer) // 2], content_type="application/json")
        if fault.kind == "drop_mid_body":
            response = web.StreamResponse(status=code)
            response.content_length = len(answer)
            await response.prepare(request)
            await response.write(answer[: len(answer) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        if fault.kind in ("rpc_error", "drop_item", "duplicate_item", "mutate"):
            answer = json.dumps(self._rewrite(fault, doc, json.loads(answer))).encode()
        return web.Response(status=code, body=answer, content_type="application/json")

    def _rewrite(self, fault: Fault, doc: Any, answer: Any) -> Any:
        calls = doc if isinstance(doc, list) else [doc]
        answers = answer if isinstance(answer, list) else [answer]
        by_id = {a.get("id"): a for a in answers}
        out = []
        for call in calls:
            one = by_id[call["id"]]
            if not fault.matches(call):
                out.append(one)
            elif fault.kind == "drop_item":
                continue
            elif fault.kind == "rpc_error":
                out.append({"jsonrpc": "2.0", "id": call["id"], "error": fault.options["error"]})
            elif fault.kind == "duplicate_item":
                out.extend([one, one])
            elif fault.kind == "mutate":
                out.append(fault.options["fn"](call, one))
        out.reverse()  # answers out of order, as a batch answer may be
        return out if isinstance(doc, list) else out[0]

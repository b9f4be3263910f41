"""A local webhook receiver (aiohttp, on its own thread and loop) that records what it is sent."""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import web

from loopscan.devnet.node import free_port


class WebhookServer:
    """`url` receives POSTs; `received` holds (Idempotency-Key header, JSON body) in arrival
    order. `fail_next(n)` answers the next n requests with HTTP 500; `refuse(rule)` answers
    HTTP 400 to every alert of that rule."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook/SECRET-TOKEN"
        self.received: list[tuple[str, dict]] = []
        self.refused = 0
        self._fail = 0
        self._refused_rules: set[str] = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def fail_next(self, n: int) -> None:
        with self._lock:
            self._fail = n

    def refuse(self, rule: str) -> None:
        with self._lock:
            self._refused_rules.add(rule)

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        with self._lock:
            if self._fail:
                self._fail -= 1
                self.refused += 1
                return web.Response(status=500)
            if body.get("rule") in self._refused_rules:
                self.refused += 1
                return web.Response(status=400, text="invalid_payload")
            self.received.append((request.headers.get("Idempotency-Key", ""), body))
        return web.Response(status=204)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook/{token}", self._handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

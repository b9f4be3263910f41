"""Start and stop anvil, the local node every devnet runs on."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from loopscan.devnet.errors import NodeStartError
from loopscan.devnet.tools import install_hint, node_modules

__all__ = ["Anvil", "anvil_binary", "free_port", "history_dump_args", "restore_args", "GENESIS_TIMESTAMP"]

# 2025-11-05 00:00 UTC, the day after Stream Finance disclosed its loss. A fixed genesis and a
# fixed block-timestamp interval make every devnet byte-for-byte the same on every run.
GENESIS_TIMESTAMP = 1762300800
CHAIN_ID = 31337


def anvil_binary() -> Path:
    path = node_modules() / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if not path.is_file():
        raise NodeStartError(f"anvil not found at {path}: {install_hint()}")
    return path


def free_port() -> int:
    """A port free on 127.0.0.1 now. SO_REUSEADDR, or a port in TIME_WAIT looks free and fails."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Anvil:
    """One anvil process on 127.0.0.1.

    `rpc(method, params)` is a plain synchronous JSON-RPC call used for the node's own
    `anvil_*`/`evm_*` methods; contract calls go through web3 in `chain.py`.
    """

    def __init__(
        self, port: int | None = None, *, extra_args: tuple[str, ...] = (), timestamp: int = GENESIS_TIMESTAMP
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._extra_args = extra_args  # e.g. ("--prune-history", "2") for a pruned node
        self._timestamp = timestamp  # genesis; a scenario with a timeline starts before its first day
        self.process: subprocess.Popen | None = None

    @classmethod
    def attach(cls, url: str) -> Anvil:
        """An anvil started by another process (a detached devnet); `stop()` leaves it running."""
        node = cls(int(url.rsplit(":", 1)[1].rstrip("/")))
        try:
            node.rpc("eth_blockNumber", timeout=5)
        except OSError as exc:
            raise NodeStartError(f"no devnet answers at {url}: {exc}") from None
        return node

    def start(self, timeout: float = 20.0) -> Anvil:
        args = [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(CHAIN_ID),
            "--timestamp", str(self._timestamp),
            "--silent",
            *self._extra_args,
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise NodeStartError(f"cannot run anvil: {exc}") from exc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise NodeStartError(f"anvil exited with {self.process.returncode} on port {self.port}: {err.strip()}")
            try:
                self.rpc("eth_blockNumber")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.stop()
        raise NodeStartError(f"anvil did not answer on port {self.port} within {timeout:.0f} s")

    def rpc(self, method: str, params: list | None = None, timeout: float = 120.0):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise NodeStartError(f"anvil {method} failed: {answer['error'].get('message')}")
        return answer["result"]

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def dump_state(self) -> str:
        """The node's whole state, as anvil's gzipped hex blob (accepted by `load_state`)."""
        return self.rpc("anvil_dumpState")

    def load_state(self, blob: str) -> None:
        """Restore a `dump_state` blob: the state and the block headers, but not the state at
        past blocks (anvil's RPC dump leaves them out); `restore_args` keeps those."""
        self.rpc("anvil_loadState", [blob])

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", [snapshot_id]):
            raise NodeStartError(f"evm_revert to {snapshot_id} failed")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> Anvil:
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def history_dump_args(path: Path) -> tuple[str, ...]:
    """Anvil arguments that write the whole chain to `path` when the node stops: every block
    with the state after it (anvil's `--dump-state` with `--preserve-historical-states`)."""
    return ("--preserve-historical-states", "--dump-state", str(path))


def restore_args(path: Path) -> tuple[str, ...]:
    """Anvil arguments that start from a `history_dump_args` file: past blocks stay readable."""
    return ("--load-state", str(path))

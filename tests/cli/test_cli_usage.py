"""Bad usage is answered before any network access: one line with a hint, exit 2; a node that
cannot be reached fails on the first attempt; progress shows on a terminal and nowhere else.

"Before any network access" is checked, not assumed: the URL given points at a real TCP listener
that counts the connections it accepts.
"""

from __future__ import annotations

import io
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from rich.console import Console

import loopscan.cli
from loopscan.cli import main
from loopscan.rpc import NodeUnreachable, RpcClient


class Listener:
    """A TCP port that accepts and counts connections, and answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    one = Listener()
    yield one
    one.sock.close()


def _scan(*args: str):
    return CliRunner().invoke(main, ["scan", "--chain", "mainnet", *args])


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_a_negative_block_is_usage(listener, tmp_path):
    result = _scan("--rpc", f"http://127.0.0.1:{listener.port}", "--block", "-1")
    assert result.exit_code == 2
    assert _one_line(result) == "error: Invalid value for '--block': -1 is not in the range x>=0. (see 'main scan --help')"
    assert listener.accepted == 0


def test_out_on_an_existing_file_is_usage(listener, tmp_path):
    existing = tmp_path / "report.txt"
    existing.write_text("keep me")
    result = _scan("--rpc", f"http://127.0.0.1:{listener.port}", "--out", str(existing))
    assert result.exit_code == 2
    assert _one_line(result) == f"error: Invalid value for '--out': Directory '{existing}' is a file. (see 'main scan --help')"
    assert listener.accepted == 0 and existing.read_text() == "keep me"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "RPC URL is not a URL: expected http(s)://host[:port][/path], e.g. http://127.0.0.1:8545"),
        ("ftp://127.0.0.1:{port}/x", "RPC URL scheme ftp:// is not supported: loopscan reads over http:// or https://"),
        ("ws://127.0.0.1:{port}", "RPC URL scheme ws:// is not supported: loopscan reads over http:// or https://"),
        ("127.0.0.1:{port}", "RPC URL has no scheme: did you mean http://127.0.0.1:{port}?"),
        ("localhost:{port}/v2/SECRETKEY", "RPC URL has no scheme: did you mean http://localhost:{port}/***/***?"),
    ],
)
def test_a_bad_url_is_usage_with_a_hint_and_no_key(listener, url, message):
    result = _scan("--rpc", url.format(port=listener.port))
    assert result.exit_code == 2
    expected = f"error: Invalid value for '--rpc': {message.format(port=listener.port)} (see 'main scan --help')"
    assert _one_line(result) == expected
    assert "SECRETKEY" not in result.output
    assert listener.accepted == 0


def test_the_library_refuses_a_bad_url_too():
    from loopscan.rpc import BadEndpoint

    with pytest.raises(BadEndpoint, match="no scheme"):
        RpcClient("127.0.0.1:8545")


@pytest.mark.parametrize("url", ["http://127.0.0.1:{closed}", "http://no-such-host.invalid:8545"])
async def test_an_unreachable_node_fails_on_the_first_attempt(url):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with RpcClient(url.format(closed=closed)) as client:
        with pytest.raises(NodeUnreachable, match="connection failed before anything was sent"):
            await client.chain_id()
        assert (client.stats.http_requests, client.stats.retries) == (1, 0)


def test_an_unreachable_node_is_one_line_and_exit_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = _scan("--rpc", f"http://127.0.0.1:{closed}")
    assert result.exit_code == 1
    assert re.fullmatch(rf"error: eth_chainId at http://127.0.0.1:{closed}: connection failed before anything was sent \(.*\)", _one_line(result))


@pytest.mark.devnet
def test_progress_shows_on_a_terminal_and_piped_output_stays_clean(minimal, monkeypatch, tmp_path):
    manifest = tmp_path / "devnet.json"
    import json

    manifest.write_text(json.dumps(minimal.manifest))
    args = ["scan", "--rpc", minimal.url, "--deployments", str(manifest), "--block", str(minimal.manifest["block"]),
            "--index-only"]  # fmt: skip

    piped = CliRunner().invoke(main, args)
    assert piped.exit_code == 0, piped.output
    assert "\x1b[" not in piped.output and "rpc: calls" not in piped.output

    terminal = io.StringIO()
    monkeypatch.setattr(loopscan.cli, "err_console", Console(file=terminal, force_terminal=True, width=100))
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 0, shown.output
    screen = terminal.getvalue()
    assert f"rpc: connecting to {minimal.url}" in screen
    calls = [int(n.replace(",", "")) for n in re.findall(r"rpc: calls: ([\d,]+)", screen)]
    assert calls and calls == sorted(calls) and calls[-1] > 1  # counted up as answers came
    assert "morpho_blue: markets: 1" in screen

"""Where the devnet's node tools live, and the message when node or npm is missing."""

from __future__ import annotations

import hashlib

import pytest

from loopscan import shipped
from loopscan.devnet import tools
from loopscan.devnet.tools import ToolsError, install_tools


def test_a_checkout_uses_its_own_node_modules():
    assert shipped.installed() is False
    assert tools.node_modules() == shipped.root() / "node_modules"
    assert (tools.node_modules() / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil").is_file()


def test_an_installed_wheel_keys_its_tools_by_the_lock(tmp_path, monkeypatch):
    data = tmp_path / "_shipped"
    data.mkdir()
    (data / "package-lock.json").write_text('{"lockfileVersion": 3}')
    monkeypatch.setattr(shipped, "_package_data", lambda: data)  # as in a wheel
    monkeypatch.setenv("LOOPSCAN_CACHE", str(tmp_path / "cache"))
    digest = hashlib.sha256(b'{"lockfileVersion": 3}').hexdigest()[:16]
    assert shipped.installed() and tools.tools_dir() == tmp_path / "cache" / "node" / digest
    assert tools.node_modules(install=False) == tmp_path / "cache" / "node" / digest / "node_modules"
    assert tools.install_hint() == "run `loopscan devnet install`"


@pytest.mark.parametrize("missing", ["node", "npm"])
def test_without_node_or_npm_the_message_says_what_to_install(tmp_path, monkeypatch, missing):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in {"node", "npm"} - {missing}:
        (bin_dir / program).write_text("#!/bin/sh\nexit 99\n")
        (bin_dir / program).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ToolsError, match=f"needs Node.js .* and `{missing}` is not on PATH: install Node.js with npm"):
        install_tools()

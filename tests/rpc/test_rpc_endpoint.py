"""URL masking on literal URLs: what a log line may show of an endpoint."""

from __future__ import annotations

import pytest

from loopscan.rpc.endpoint import mask_url, redact


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://eth-mainnet.g.alchemy.com/v2/SECRETKEY", "https://eth-mainnet.g.alchemy.com/***/***"),
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/***/***"),
        ("https://broken-icy-mountain.quiknode.pro/14fb466c039ca54a/", "https://broken-icy-mountain.quiknode.pro/***/"),
        ("https://rpc.ankr.com/eth?apikey=abc&chain=1", "https://rpc.ankr.com/***?apikey=***&chain=***"),
        ("https://user:pass@node.example:8545/", "https://***@node.example:8545/"),
        ("https://user@node.example", "https://***@node.example"),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://127.0.0.1:8545/", "http://127.0.0.1:8545/"),
        ("http://[::1]:8545/key", "http://[::1]:8545/***"),
        ("https://node.example/?bare-secret", "https://node.example/?***"),
        ("https://node.example/#frag", "https://node.example/#***"),
        ("https://node.example//double//", "https://node.example//***//"),
        ("http://[::1", "***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_url_hides_every_secret_part() -> None:
    url = "https://alice:pw@x.example:1/v2/KEYKEY?token=TOKTOK#FRAG"
    masked = mask_url(url)
    for secret in ("alice", "pw", "v2", "KEYKEY", "TOKTOK", "FRAG"):
        assert secret not in masked


def test_redact_masks_the_url_and_its_parts_in_free_text() -> None:
    url = "https://u:pw@eth.example/v2/SECRETKEY?apikey=QUERYKEY"
    text = f"Connection timeout to host {url}; key SECRETKEY; q QUERYKEY; user u:pw"
    out = redact(text, url)
    assert "SECRETKEY" not in out and "QUERYKEY" not in out and "pw" not in out
    assert "https://***@eth.example/***/***?apikey=***" in out


def test_redact_catches_percent_decoded_echoes() -> None:
    url = "https://eth.example/v2/KEY%2FWITH%2FSLASH"
    assert "KEY/WITH/SLASH" not in redact("echo: KEY/WITH/SLASH", url)


def test_redact_leaves_short_path_parts() -> None:
    assert redact("api v2 failed", "https://eth.example/v2/LONGKEY") == "api v2 failed"

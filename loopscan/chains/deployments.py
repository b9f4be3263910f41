"""Known contract deployments per chain, read from TOML data files.

Addresses and start blocks are data, not code: one TOML file per chain ships in this
package, and a user can pass their own file of the same format (``--deployments FILE``).
The format is described in ``loopscan/chains/README.md``. Every problem in a file is
reported as one line naming the file and the key.

>>> mainnet = load_deployments("mainnet")
>>> mainnet.get("morpho_blue", "core").address
'0xBBBBBbbBBb9cC5e90e3b3Af64bdAF62C37EEFFCb'
"""

import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

from eth_utils import to_checksum_address

from loopscan.errors import LoopscanError
from loopscan.protocols import registry

__all__ = [
    "Contract",
    "Deployments",
    "DeploymentsError",
    "HasManifest",
    "OffDevnetDebt",
    "known_chains",
    "load_deployments",
    "parse_deployments",
    "from_devnet_manifest",
]

_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CONTRACT_KEYS = {"protocol", "kind", "address", "start_block", "label", "holders"}
_TOP_KEYS = {"chain_id", "contracts"}


class HasManifest(Protocol):
    """A running devnet (`loopscan.devnet.Devnet`), as far as deployments are concerned."""

    manifest: dict


class DeploymentsError(LoopscanError):
    """A deployments file is missing, unparsable, or has an invalid entry."""


@dataclass(frozen=True)
class Contract:
    """One deployed contract: which protocol, what role, where, and since when.

    ``start_block`` is the block to start scanning its logs from (its deployment block);
    ``None`` when it could not be confirmed. ``address`` is EIP-55 checksummed.
    """

    protocol: str
    kind: str
    address: str
    start_block: int | None = None
    label: str | None = None
    holders: tuple[str, ...] = ()  # a vault's strategy accounts, whose balances count as its backing


@dataclass(frozen=True)
class OffDevnetDebt:
    """Debt a devnet's scenario records on a lender the devnet does not deploy (its `[[off_devnet]]`):
    stated beside the report's figures, never read into them."""

    lender: str
    token: str  # the token's symbol, as the scenario names it
    token_address: str  # lower-case, as snapshots write addresses
    debt_usd: float
    source: str


@dataclass(frozen=True)
class Deployments:
    """The contracts known on one chain, and (a devnet) the debt that sat on lenders it lacks."""

    chain: str
    chain_id: int
    contracts: tuple[Contract, ...]
    source: str
    off_devnet: tuple[OffDevnetDebt, ...] = ()

    def find(self, protocol: str, kind: str | None = None) -> tuple[Contract, ...]:
        """All contracts of ``protocol`` (and ``kind``), in file order; may be empty."""
        return tuple(
            c for c in self.contracts if c.protocol == protocol and (kind is None or c.kind == kind)
        )

    def get(self, protocol: str, kind: str) -> Contract:
        """The single contract of ``protocol`` and ``kind``; ``DeploymentsError`` if none or several."""
        found = self.find(protocol, kind)
        if len(found) != 1:
            raise DeploymentsError(
                f"{self.source}: expected one {protocol} {kind} contract, found {len(found)}"
            )
        return found[0]


def known_chains() -> tuple[str, ...]:
    """Names of the chains with a deployments file shipped in this package."""
    files = resources.files(__package__).iterdir()
    return tuple(sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml")))


def _checksummed(source: str, key: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX_ADDRESS.fullmatch(value):
        raise DeploymentsError(f"{source}: {key}: {value!r} is not a 0x-prefixed 40-hex-digit address")
    checksummed = to_checksum_address(value)
    mixed_case = value[2:] != value[2:].lower() and value[2:] != value[2:].upper()
    if mixed_case and value != checksummed:
        raise DeploymentsError(f"{source}: {key}: bad EIP-55 checksum in {value} (expected {checksummed})")
    return checksummed


def _contract(source: str, index: int, entry: object) -> Contract:
    where = f"contracts[{index}]"
    if not isinstance(entry, dict):
        raise DeploymentsError(f"{source}: {where}: not a table")
    unknown = sorted(set(entry) - _CONTRACT_KEYS)
    if unknown:
        raise DeploymentsError(f"{source}: {where}.{unknown[0]}: unknown key")
    for key in ("protocol", "kind"):
        value = entry.get(key)
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise DeploymentsError(f"{source}: {where}.{key}: {value!r} is not a snake_case name")
    where = f"{where} ({entry['protocol']} {entry['kind']})"
    if entry["protocol"] not in _INFRASTRUCTURE and entry["protocol"] not in registry.deployment_protocols():
        known = ", ".join(sorted(registry.deployment_protocols() | _INFRASTRUCTURE))
        raise DeploymentsError(f"{source}: {where}.protocol: unknown protocol {entry['protocol']!r}; known: {known}")
    if "address" not in entry:
        raise DeploymentsError(f"{source}: {where}.address: missing")
    start_block = entry.get("start_block")
    if start_block is not None and (type(start_block) is not int or start_block < 0):
        raise DeploymentsError(
            f"{source}: {where}.start_block: {start_block!r} is not a non-negative integer"
        )
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise DeploymentsError(f"{source}: {where}.label: {label!r} is not a string")
    address = _checksummed(source, f"{where}.address", entry["address"])
    holders = entry.get("holders", [])
    if not isinstance(holders, list):
        raise DeploymentsError(f"{source}: {where}.holders: not a list of addresses")
    checked = tuple(_checksummed(source, f"{where}.holders[{i}]", h) for i, h in enumerate(holders))
    return Contract(entry["protocol"], entry["kind"], address, start_block, label, checked)


def parse_deployments(text: str, chain: str, source: str) -> Deployments:
    """Parse the TOML ``text`` of a deployments file; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeploymentsError(f"{source}: invalid TOML: {exc}") from exc
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise DeploymentsError(f"{source}: {unknown[0]}: unknown key")
    chain_id = data.get("chain_id")
    if type(chain_id) is not int or chain_id <= 0:
        raise DeploymentsError(f"{source}: chain_id: {chain_id!r} is not a positive integer")
    entries = data.get("contracts", [])
    if not isinstance(entries, list):
        raise DeploymentsError(f"{source}: contracts: not an array of tables ([[contracts]])")
    contracts = tuple(_contract(source, i, entry) for i, entry in enumerate(entries))
    seen: set[tuple[str, str, str]] = set()
    for i, c in enumerate(contracts):
        if (c.protocol, c.kind, c.address) in seen:
            raise DeploymentsError(
                f"{source}: contracts[{i}] ({c.protocol} {c.kind}): duplicate of an earlier entry"
            )
        seen.add((c.protocol, c.kind, c.address))
    return Deployments(chain, chain_id, contracts, source)


def load_deployments(name_or_path: str | Path | dict | HasManifest | Deployments) -> Deployments:
    """Load a shipped chain by name (``"mainnet"``) or any deployments file by path; a
    ``Deployments`` is returned as is, and a devnet (``loopscan.devnet.Devnet``) or its
    ``manifest`` dict is read with ``from_devnet_manifest``.

    A bare name without ``.toml`` or a path separator is looked up among
    ``known_chains()``; anything else is read as a file path.
    """
    if isinstance(name_or_path, Deployments):
        return name_or_path
    manifest = getattr(name_or_path, "manifest", name_or_path)  # a Devnet carries its manifest
    if isinstance(manifest, dict):
        return from_devnet_manifest(manifest)
    text_name = str(name_or_path)
    if isinstance(name_or_path, str) and _NAME.fullmatch(name_or_path):
        if name_or_path not in known_chains():
            raise DeploymentsError(f"{name_or_path}: unknown chain; known: {', '.join(known_chains())}")
        resource = resources.files(__package__).joinpath(f"{name_or_path}.toml")
        return parse_deployments(resource.read_text(encoding="utf-8"), name_or_path, f"{name_or_path}.toml")
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeploymentsError(f"{text_name}: cannot read: {exc.strerror}") from exc
    if path.suffix == ".json":
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeploymentsError(f"{text_name}: invalid JSON: {exc}") from exc
        return from_devnet_manifest(manifest, text_name)
    return parse_deployments(text, path.stem, text_name)


_INFRASTRUCTURE = frozenset({"multicall3"})  # read by the RPC layer, not by a protocol package


def from_devnet_manifest(manifest: dict, source: str = "devnet manifest") -> Deployments:
    """The deployments a `loopscan devnet up` manifest describes: a devnet is read like any chain.

    Everything starts at block 0 (the devnet's genesis). MetaMorpho vaults are not listed:
    loopscan finds them from the factory's logs, as on mainnet. A manifest written before
    `off_devnet` existed has none.
    """
    named, vault_kinds = registry.devnet_entries()
    named = {"multicall3": ("multicall3", "core"), **named}
    try:
        contracts = [
            Contract(*named[name], to_checksum_address(address), 0)
            for name, address in manifest["contracts"].items()
            if name in named
        ]
        contracts += [
            Contract(*vault_kinds[t["kind"]], to_checksum_address(t["address"]), 0, tid)
            for tid, t in manifest["tokens"].items()
            if t["kind"] in vault_kinds
        ]
        off_devnet = tuple(OffDevnetDebt(d["lender"], d["token"], to_checksum_address(d["token_address"]).lower(), float(d["debt_usd"]),
                                         d["source"]) for d in manifest.get("off_devnet", []))  # fmt: skip
        return Deployments(f"devnet-{manifest['scenario']}", int(manifest["chain_id"]), tuple(contracts), source, off_devnet)
    except (KeyError, TypeError, ValueError) as exc:
        raise DeploymentsError(f"{source}: not a loopscan devnet manifest ({exc!r})") from None

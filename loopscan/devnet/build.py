"""Compile and load the contracts the devnet deploys, with a content-addressed build cache.

Two kinds of artifacts:

* **compiled from source** with solc-js (npm `solc`, several versions side by side through npm
  aliases), each unit with its upstream's own compiler settings (`units()`: ours, and those the
  protocol packages declare);
* **published artifacts** (Aave v3, Uniswap v3): the packages ship Hardhat artifacts, which are
  loaded as they are; Aave's libraries are linked at their `linkReferences` offsets.

The cache key of a unit is the hash of its entry sources, compiler and settings; the entry also
records the hash of every file the compiler read, so editing any imported file (ours or a
package's) invalidates it. Only the first run pays for a via-IR build.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from loopscan.devnet.errors import BuildError
from loopscan.devnet.tools import cache_dir, install_hint, node_modules
from loopscan.shipped import root as project_root  # the checkout, or the wheel's shipped files

__all__ = ["Artifact", "CompileUnit", "UNITS", "units", "Artifacts", "project_root", "cache_dir", "link"]


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode (hex without 0x, maybe with unlinked library placeholders)."""

    name: str
    abi: list
    bytecode: str
    link_references: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CompileUnit:
    """A set of entry sources compiled together with one compiler and one set of settings."""

    name: str
    solc: str  # npm alias of the solc-js package, e.g. "solc0819"
    sources: tuple[str, ...]  # source unit names, resolved against the project then node_modules
    via_ir: bool
    runs: int
    evm_version: str
    origin: str  # where the sources come from, for the README / manifest
    remappings: tuple[str, ...] = ()  # e.g. an npm alias standing for the path the sources import
    bytecode_hash: str | None = None  # solc's metadata.bytecodeHash where upstream sets it

    def settings(self) -> dict:
        settings = {
            "viaIR": self.via_ir,
            "optimizer": {"enabled": True, "runs": self.runs},
            "evmVersion": self.evm_version,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        }
        # Added only when set, so the cache keys of the units without them stay as they were.
        if self.remappings:
            settings["remappings"] = list(self.remappings)
        if self.bytecode_hash is not None:
            settings["metadata"] = {"bytecodeHash": self.bytecode_hash}
        return settings


# Ours; each registered package declares its own (`ProtocolSpec.devnet`), added by `units()`.
UNITS: dict[str, CompileUnit] = {
    unit.name: unit
    for unit in (
        CompileUnit(
            name="loopscan",
            solc="solc0826",
            sources=tuple(
                sorted(
                    str(p.relative_to(project_root()))
                    for p in (project_root() / "contracts").rglob("*.sol")
                )
            ),
            via_ir=False,
            runs=200,
            evm_version="cancun",
            origin="ours: contracts/ (scenario tokens, vaults, oracles, Multicall3-compatible aggregator)",
        ),
    )
}


_with_packages: list[bool] = []  # set once the registered packages' units are in UNITS


def units() -> dict[str, CompileUnit]:
    """Every compile unit by name: ours and each registered package's. The packages' are added on
    first use, not at import: their devnet modules import this one."""
    if not _with_packages:
        from loopscan.protocols import registry

        for unit in registry.devnet_units():
            UNITS.setdefault(unit.name, unit)
        _with_packages.append(True)
    return UNITS


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _resolve(name: str, roots: list[Path]) -> Path | None:
    for root in roots:
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


class Artifacts:
    """Loads compiled and published artifacts by contract name, compiling units on demand."""

    def __init__(self, root: Path | None = None, cache: Path | None = None) -> None:
        """`root` holds `contracts/` (default: the checkout or the wheel's shipped files); the
        node tools are its `node_modules/` when given, else `tools.node_modules()`."""
        self.root = root or project_root()
        self.cache = (cache or cache_dir()) / "build"
        self.node_modules = root / "node_modules" if root else node_modules()
        self._units: dict[str, dict[str, Artifact]] = {}
        if not self.node_modules.is_dir():
            raise BuildError(f"{self.node_modules} is missing: {install_hint()}")

    # -- compiled from source -------------------------------------------------------------
    def compiled(self, unit_name: str, contract: str) -> Artifact:
        if unit_name not in self._units:
            self._units[unit_name] = self._build(units()[unit_name])
        try:
            return self._units[unit_name][contract]
        except KeyError:
            raise BuildError(f"unit {unit_name!r} has no contract {contract!r}") from None

    def _roots(self) -> list[Path]:
        return [self.root, self.node_modules]

    def unit_key(self, unit: CompileUnit) -> str:
        """The cache key of a unit: its entry sources, compiler version and settings."""
        parts = [unit.solc, json.dumps(unit.settings(), sort_keys=True)]
        for name in unit.sources:
            path = _resolve(name, self._roots())
            if path is None:
                raise BuildError(f"source {name} of unit {unit.name} not found")
            parts += [name, _sha256(path.read_bytes())]
        parts.append(self._solc_version(unit.solc))
        return _sha256("\n".join(parts).encode())

    def _solc_version(self, alias: str) -> str:
        manifest = self.node_modules / alias / "package.json"
        if not manifest.is_file():
            raise BuildError(f"solc-js {alias} is not installed: {install_hint()}")
        return json.loads(manifest.read_text())["version"]

    def _build(self, unit: CompileUnit) -> dict[str, Artifact]:
        entry = self.cache / f"{unit.name}-{self.unit_key(unit)}.json"
        if entry.is_file():
            cached = json.loads(entry.read_text())
            if self._deps_unchanged(cached["deps"]):
                return _artifacts_from(cached["contracts"])
        output = self._compile(unit)
        deps = {}
        for name in output["sources"]:
            path = _resolve(name, self._roots())
            if path is not None:
                deps[name] = _sha256(path.read_bytes())
        contracts = {
            contract: {"abi": data["abi"], "bytecode": data["evm"]["bytecode"]["object"]}
            for source in output["contracts"].values()
            for contract, data in source.items()
        }
        self.cache.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(".tmp")
        tmp.write_text(json.dumps({"unit": unit.name, "deps": deps, "contracts": contracts}))
        tmp.replace(entry)  # atomic: a killed build never leaves a half-written cache entry
        return _artifacts_from(contracts)

    def _deps_unchanged(self, deps: dict[str, str]) -> bool:
        for name, digest in deps.items():
            path = _resolve(name, self._roots())
            if path is None or _sha256(path.read_bytes()) != digest:
                return False
        return True

    def _compile(self, unit: CompileUnit) -> dict:
        request = {
            "solc": unit.solc,
            "roots": [str(r) for r in self._roots()],
            "input": {
                "language": "Solidity",
                "sources": {name: {"urls": [name]} for name in unit.sources},
                "settings": unit.settings(),
            },
        }
        # solc-js reads "urls" through the import callback, so entry files and imports resolve alike.
        proc = subprocess.run(
            ["node", str(Path(__file__).with_name("solc.js"))],
            input=json.dumps(request).encode(),
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(f"solc-js failed on unit {unit.name}: {proc.stderr.decode()[-2000:]}")
        output = json.loads(proc.stdout)
        errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
        if errors:
            text = "\n".join(e.get("formattedMessage", e["message"]) for e in errors[:5])
            raise BuildError(f"compiling unit {unit.name} failed:\n{text}")
        return output

    # -- published artifacts --------------------------------------------------------------
    def published(self, package_path: str) -> Artifact:
        """A Hardhat artifact shipped in an npm package, e.g. `@uniswap/v3-core/artifacts/.../X.json`."""
        path = self.node_modules / package_path
        if not path.is_file():
            raise BuildError(f"artifact {package_path} not found in {self.node_modules}: {install_hint()}")
        data = json.loads(path.read_text())
        return Artifact(
            name=data["contractName"],
            abi=data["abi"],
            bytecode=data["bytecode"].removeprefix("0x"),
            link_references=data.get("linkReferences", {}),
        )


def _artifacts_from(contracts: dict) -> dict[str, Artifact]:
    return {name: Artifact(name, c["abi"], c["bytecode"]) for name, c in contracts.items()}


def link(artifact: Artifact, libraries: dict[str, str]) -> str:
    """Creation bytecode with each library address written at its `linkReferences` offsets.

    `libraries` maps library contract names to addresses. Offsets are in bytes into the code,
    so the hex index is 2·start. A library the artifact needs but `libraries` lacks is an error:
    deploying with a placeholder left in would revert at the first delegatecall.
    """
    code = artifact.bytecode
    for refs in artifact.link_references.values():
        for lib, places in refs.items():
            if lib not in libraries:
                raise BuildError(f"{artifact.name} needs library {lib}, which was not deployed")
            addr = libraries[lib].lower().removeprefix("0x")
            for place in places:
                start = 2 * place["start"]
                code = code[:start] + addr + code[start + 2 * place["length"] :]
    if "__$" in code:
        raise BuildError(f"{artifact.name} still has unlinked library placeholders")
    return code

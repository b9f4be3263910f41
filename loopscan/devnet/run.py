"""Start a devnet: anvil with the protocols deployed and a scenario seeded, cached by content.

The first start of a scenario builds, deploys and seeds (tens of seconds); the node's state is
then dumped to the cache, keyed by everything that could change it: the scenario file, the
compiled contracts, the published artifacts, this package's code and anvil's version. Later
starts load that state in seconds and end in the same state, with the same addresses.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from loopscan.devnet.build import UNITS, Artifacts, cache_dir, project_root
from loopscan.devnet.chain import Chain
from loopscan.devnet.errors import DevnetError
from loopscan.devnet.manifest import build_manifest, read_manifest
from loopscan.devnet.node import Anvil
from loopscan.devnet.scenario import Scenario, load_scenario
from loopscan.devnet.seed import Seeder

__all__ = ["Devnet", "start", "connect", "BLOCK_INTERVAL"]

# After seeding, blocks advance by 12 s, like mainnet's slots: deterministic, and interest
# accrues at a realistic pace when a test mines blocks.
BLOCK_INTERVAL = 12


class Devnet:
    """A running devnet: `url`, `manifest`, and the node's snapshot/revert and events.

    Use as a context manager, or call `stop()`; the node never outlives the process that
    started it unless it was detached from the CLI.
    """

    def __init__(self, node: Anvil, scenario: Scenario, manifest: dict, artifacts: Artifacts, seeder: Seeder) -> None:
        self.node = node
        self.scenario = scenario
        self.manifest = manifest
        self.artifacts = artifacts
        self._seeder = seeder

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def chain(self) -> Chain:
        return self._seeder.chain

    def apply(self, event: str) -> None:
        """Run one of the scenario's named events (e.g. `writedown`) as real transactions."""
        if event not in self.scenario.events:
            known = ", ".join(sorted(self.scenario.events)) or "none"
            raise DevnetError(f"scenario {self.scenario.name} has no event {event!r} (known: {known})")
        self._seeder.run(self.scenario.events[event])

    def snapshot(self) -> str:
        return self.node.snapshot()

    def revert(self, snapshot_id: str) -> None:
        self.node.revert(snapshot_id)
        self.chain.forget_funding()

    def stop(self) -> None:
        self.node.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _state_key(scenario: Scenario, artifacts: Artifacts) -> str:
    h = hashlib.sha256()
    h.update(scenario.path.read_bytes())
    for unit in UNITS.values():
        h.update(artifacts.unit_key(unit).encode())
    lock = project_root() / "package-lock.json"
    if lock.is_file():
        h.update(lock.read_bytes())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    return h.hexdigest()[:24]


def start(scenario: str | Path = "stream-2025", port: int | None = None, *, use_cache: bool = True) -> Devnet:
    """Start anvil, deploy and seed `scenario` (or load it from the cache), and return the devnet.

    Raises `ScenarioError` naming the file, the step and the revert reason if seeding fails;
    the node is stopped first, so nothing half-seeded is left running.
    """
    sc = load_scenario(scenario)
    artifacts = Artifacts()
    node = Anvil(port).start()
    try:
        chain = Chain(node)
        seeder = Seeder(chain, artifacts, sc)
        cache_file = cache_dir() / "state" / f"{sc.name}-{_state_key(sc, artifacts)}.json"
        if use_cache and cache_file.is_file():
            cached = json.loads(cache_file.read_text())
            node.load_state(cached["state"])
            manifest = cached["manifest"]
            seeder.attach(manifest)
        else:
            node.rpc("anvil_setBlockTimestampInterval", [0])  # seeding happens at one instant
            seeder.deploy()
            seeder.run(sc.steps)
            manifest = None
        block = chain.block()
        if manifest is None:
            manifest = build_manifest(seeder, node.url, block)
            if use_cache:
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_file.with_suffix(".tmp")
                tmp.write_text(json.dumps({"state": node.dump_state(), "manifest": manifest}))
                tmp.replace(cache_file)
        elif block["number"] != manifest["block"] or "0x" + bytes(block["hash"]).hex() != manifest["block_hash"]:
            raise DevnetError(f"cached state {cache_file} did not restore block {manifest['block']}; delete it")
        manifest["rpc_url"] = node.url
        node.rpc("evm_setNextBlockTimestamp", [manifest["timestamp"] + BLOCK_INTERVAL])
        node.rpc("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL])
        return Devnet(node, sc, manifest, artifacts, seeder)
    except BaseException:
        node.stop()
        raise


def connect(manifest_path: str | Path) -> Devnet:
    """The devnet a manifest describes, started elsewhere (`loopscan devnet up --detach`)."""
    manifest = read_manifest(Path(manifest_path))
    node = Anvil.attach(manifest["rpc_url"])
    artifacts = Artifacts()
    scenario = load_scenario(manifest["scenario_file"])
    seeder = Seeder(Chain(node), artifacts, scenario)
    seeder.attach(manifest)
    return Devnet(node, scenario, manifest, artifacts, seeder)

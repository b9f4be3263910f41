"""Start a devnet: anvil with the protocols deployed and a scenario seeded, cached by content.

The first start of a scenario builds, deploys and seeds (tens of seconds) on a node that writes
its whole chain (every block, and the state after each) to the cache when it stops, keyed by
everything that could change it: the scenario file, the compiled contracts, the published
artifacts, this package's code and anvil's version. Later starts load that chain in seconds and
end in the same state, at the same block, with the same addresses, and with every past block's
state readable, as on an archive node.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from loopscan.devnet.build import Artifacts, cache_dir, project_root, units
from loopscan.devnet.chain import Chain
from loopscan.devnet.errors import DevnetError
from loopscan.devnet.manifest import build_manifest, read_manifest
from loopscan.devnet.node import GENESIS_TIMESTAMP, Anvil, history_dump_args, restore_args
from loopscan.devnet.scenario import Scenario, load_scenario, parts
from loopscan.devnet.seed import Seeder
from loopscan.devnet.timeline import Timeline, load_timeline

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
    for unit in units().values():
        h.update(artifacts.unit_key(unit).encode())
    lock = project_root() / "package-lock.json"
    if lock.is_file():
        h.update(lock.read_bytes())
    # The code that seeds: ours, and each protocol package's deployer and devnet part.
    for source in sorted(Path(__file__).parent.glob("*.py")):
        h.update(source.read_bytes())
    for _, part in parts():
        package = Path(sys.modules[part.__module__].__file__).parent
        for source in (package / "devnet.py", package / "seeding.py"):
            if source.is_file():
                h.update(source.read_bytes())
    return h.hexdigest()[:24]


def start(scenario: str | Path = "stream-2025", port: int | None = None, *, use_cache: bool = True) -> Devnet:
    """Start anvil, deploy and seed `scenario` (or load it from the cache), and return the devnet.

    The devnet keeps its history either way: every block since genesis, with its state, can be
    read (`--block N`), whether seeded in this process or restored from the cache.

    Raises `ScenarioError` naming the file, the step and the revert reason if seeding fails;
    the node is stopped first, so nothing half-seeded is left running.
    """
    sc = load_scenario(scenario)
    timeline = load_timeline(sc)
    genesis = timeline.genesis_timestamp if timeline else GENESIS_TIMESTAMP
    artifacts = Artifacts()
    if not use_cache:
        node = Anvil(port, timestamp=genesis).start()
        try:
            seeder, manifest = _seed(node, artifacts, sc, timeline)
        except BaseException:
            node.stop()
            raise
        return _ready(node, sc, manifest, artifacts, seeder)
    cache = cache_dir() / "state" / f"{sc.name}-{_state_key(sc, artifacts)}"
    chain_file, manifest_file = cache.with_suffix(".anvil.json"), cache.with_suffix(".manifest.json")
    if not (chain_file.is_file() and manifest_file.is_file()):
        _seed_to_cache(artifacts, sc, timeline, genesis, chain_file, manifest_file)
    manifest = json.loads(manifest_file.read_text())
    # Loading the whole chain (every block's state) takes longer than a bare start.
    node = Anvil(port, timestamp=genesis, extra_args=restore_args(chain_file)).start(timeout=120)
    try:
        seeder = Seeder(Chain(node), artifacts, sc)
        seeder.attach(manifest)
        block = seeder.chain.block()
        if block["number"] != manifest["block"] or "0x" + bytes(block["hash"]).hex() != manifest["block_hash"]:
            raise DevnetError(f"cached chain {chain_file} did not restore block {manifest['block']}; delete it")
    except BaseException:
        node.stop()
        raise
    return _ready(node, sc, manifest, artifacts, seeder)


def _seed(node: Anvil, artifacts: Artifacts, sc: Scenario, timeline: Timeline | None) -> tuple[Seeder, dict]:
    seeder = Seeder(Chain(node), artifacts, sc)
    node.rpc("anvil_setBlockTimestampInterval", [0])  # seeding happens at one instant
    seeder.deploy()
    seeder.run(sc.steps)
    days = timeline.mine(node, seeder, sc) if timeline else None
    manifest = build_manifest(seeder, node.url, seeder.chain.block())
    if days is not None:
        manifest["timeline"] = days
    return seeder, manifest


def _seed_to_cache(
    artifacts: Artifacts, sc: Scenario, timeline: Timeline | None, genesis: int, chain_file: Path, manifest_file: Path
) -> None:
    """Seed on a node of its own that writes its whole chain to the cache when it stops."""
    chain_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = chain_file.with_suffix(f".{os.getpid()}.tmp")
    node = Anvil(timestamp=genesis, extra_args=history_dump_args(tmp)).start()
    try:
        _, manifest = _seed(node, artifacts, sc, timeline)
    finally:
        node.stop()
        if sys.exc_info()[0] is not None:
            tmp.unlink(missing_ok=True)  # half a seeding is no use to anyone
    if not tmp.is_file():
        raise DevnetError(f"anvil did not write the seeded chain to {tmp}")
    manifest_tmp = manifest_file.with_suffix(f".{os.getpid()}.tmp")
    manifest_tmp.write_text(json.dumps(manifest))
    tmp.replace(chain_file)
    manifest_tmp.replace(manifest_file)


def _ready(node: Anvil, sc: Scenario, manifest: dict, artifacts: Artifacts, seeder: Seeder) -> Devnet:
    # A cached manifest is shared by every checkout with the same sources: what it says of this
    # start (the node's URL, where this scenario's file is) is this start's own.
    manifest["rpc_url"] = node.url
    manifest["scenario_file"] = str(sc.path)
    node.rpc("evm_setNextBlockTimestamp", [manifest["timestamp"] + BLOCK_INTERVAL])
    node.rpc("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL])
    return Devnet(node, sc, manifest, artifacts, seeder)


def connect(manifest_path: str | Path) -> Devnet:
    """The devnet a manifest describes, started elsewhere (`loopscan devnet up --detach`)."""
    manifest = read_manifest(Path(manifest_path))
    node = Anvil.attach(manifest["rpc_url"])
    artifacts = Artifacts()
    scenario = load_scenario(manifest["scenario_file"])
    seeder = Seeder(Chain(node), artifacts, scenario)
    seeder.attach(manifest)
    return Devnet(node, scenario, manifest, artifacts, seeder)

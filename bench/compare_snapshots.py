"""Whether two checkouts of loopscan read the same snapshot of each shipped devnet: no figures, a verdict.

    mkdir /tmp/before && git archive main | tar -x -C /tmp/before
    python bench/compare_snapshots.py /tmp/before .                     # stream-2025, mainnet-zoo, susde-aave-loop
    python bench/compare_snapshots.py /tmp/before . mainnet-zoo

Each scenario's devnet is started once (from the state cache); each tree's `loopscan.index` reads
it in a fresh process at the same block; the snapshots are compared table for table (values and
dtypes) and on what the metadata says was read (not when, nor by which version). Exits 1 if any
scenario differs. For a change that must leave every value as it was (indexing speed, issue 14).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = ("stream-2025", "mainnet-zoo", "susde-aave-loop")
READ = ("chain_id", "block_number", "block_hash", "block_timestamp", "endpoint", "numeraire")
WORKER = """
import json, pickle, sys
import loopscan
from loopscan.chains import from_devnet_manifest
snapshot = loopscan.index(sys.argv[1], deployments=from_devnet_manifest(json.load(open(sys.argv[2]))))
open(sys.argv[3], "wb").write(pickle.dumps(snapshot))
print(loopscan.__file__)
"""


def read(tree: Path, url: str, manifest: Path, out: Path):
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # From the snapshot's folder: `python -c` puts the working directory first on sys.path.
    done = subprocess.run([sys.executable, "-c", WORKER, url, str(manifest), str(out)], env=env, cwd=out.parent,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{tree}: the scan failed\n{done.stderr[-3000:]}")
    print(f"  read by {done.stdout.strip()}")
    return pickle.loads(out.read_bytes())


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    trees = [Path(t).resolve() for t in sys.argv[1:3]]
    sys.path.insert(0, str(HERE.parent))
    from loopscan import devnet

    differ = []
    with tempfile.TemporaryDirectory(prefix="loopscan-compare-") as tmp:
        manifest, out = Path(tmp) / "manifest.json", Path(tmp) / "snapshot.pkl"
        for scenario in sys.argv[3:] or SCENARIOS:
            net = devnet.start(scenario)
            try:
                manifest.write_text(json.dumps(net.manifest))
                a, b = (read(tree, net.url, manifest, out) for tree in trees)
            finally:
                net.stop()
            ta, tb = a.tables(), b.tables()
            bad = [f for f in READ if getattr(a.meta, f) != getattr(b.meta, f)] + [
                name for name in ta
                if not (name in tb and ta[name].equals(tb[name]) and list(ta[name].dtypes) == list(tb[name].dtypes))
            ]  # fmt: skip
            rows = sum(len(f) for f in ta.values())
            print(f"{scenario}: " + (f"identical, {len(ta)} tables, {rows} rows" if not bad else f"DIFFERENT in {', '.join(bad)}"))
            differ += bad
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()

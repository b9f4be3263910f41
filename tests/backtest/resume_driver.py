"""A backtest in its own process, printing each block as it is stored (the resume test kills it).

    python resume_driver.py URL MANIFEST STORE BLOCK,BLOCK,...
"""

from __future__ import annotations

import sys

from loopscan.backtest import run_backtest
from loopscan.chains import from_devnet_manifest
from loopscan.devnet.manifest import read_manifest

if __name__ == "__main__":
    url, manifest, store, blocks = sys.argv[1:5]
    deployments = from_devnet_manifest(read_manifest(manifest))
    report = run_backtest(url, deployments, [int(b) for b in blocks.split(",")], store, workers=1,
                          on_done=lambda o: print(f"stored block {o.block}", flush=True))  # fmt: skip
    print(f"done: {len(report.stored)} scanned, {report.skipped} skipped, {len(report.failed)} failed", flush=True)

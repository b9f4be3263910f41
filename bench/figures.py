"""Every figure of the shipped scenarios, dumped and compared: the check that a refactor changes
no number (issue 11 used it; the vectorised cascade of issue 14 is held to it).

    python bench/figures.py dump before.pkl          # on the old code
    python bench/figures.py dump after.pkl           # on the new code
    python bench/figures.py compare before.pkl after.pkl

A dump holds, per scenario (stream-2025, susde-aave-loop, minimal) at its seeded block: the
thresholds, losses, exposure, vaults, pyramids and loops tables; per token and shock the δ*(δ)
curve and every position's δ₁; and at shocks of 5, 15, 30, 60 and 100 % each cascade's
liquidations, losses and final prices. `compare` reports each table identical, or the largest
relative difference of its numbers.
"""

from __future__ import annotations

import argparse
import pickle
import sys

import numpy as np
import pandas as pd

SCENARIOS = ("stream-2025", "susde-aave-loop", "minimal")
SIZES = (0.05, 0.15, 0.3, 0.6, 1.0)


def dump(path: str) -> None:
    import loopscan
    from loopscan import devnet

    out = {}
    for scenario in SCENARIOS:
        with devnet.start(scenario) as net:
            snap = loopscan.index(net.url, deployments=net, block=net.manifest["block"])
        r = loopscan.analyse(snap)
        figs = {"thresholds": r.thresholds, "losses": r.losses, "exposure": r.exposure, "vaults": r.vaults,
                "pyramids": r.pyramids, "loops": r.loops}  # fmt: skip
        for row in r.thresholds[["token", "shock"]].drop_duplicates().itertuples():
            kind, token = row.shock, row.token
            figs[f"curve:{kind}:{token}"] = r.solver.curve(kind, token)
            figs[f"pos:{kind}:{token}"] = pd.Series(r.solver.first_liquidation_by_position(kind, token), dtype=float)
            for size in SIZES:
                c = r.solver.cascade(kind, token, size)
                figs[f"cascade:{kind}:{token}:{size}:liq"] = c.liquidations
                figs[f"cascade:{kind}:{token}:{size}:losses"] = c.losses
                figs[f"cascade:{kind}:{token}:{size}:prices"] = pd.Series(c.prices)
        out[scenario] = figs
    with open(path, "wb") as f:
        pickle.dump(out, f)
    print(f"{path}: " + ", ".join(f"{s} {len(f)} tables" for s, f in out.items()))


def _frame(x) -> pd.DataFrame:
    return x.reset_index(drop=True) if isinstance(x, pd.DataFrame) else x.sort_index().to_frame()


def compare(a_path: str, b_path: str) -> int:
    with open(a_path, "rb") as fa, open(b_path, "rb") as fb:
        a, b = pickle.load(fa), pickle.load(fb)
    identical = differ = 0
    worst = 0.0
    for scenario, tables in a.items():
        for name, x in tables.items():
            y = b[scenario].get(name)
            fx, fy = _frame(x), _frame(y) if y is not None else None
            try:
                pd.testing.assert_frame_equal(fx, fy, check_exact=True, check_dtype=False)
                identical += 1
                continue
            except (AssertionError, TypeError):
                differ += 1
            if fy is None or fx.shape != fy.shape:
                print(f"DIFF {scenario} {name}: shape {fx.shape} against {None if fy is None else fy.shape}")
                worst = float("inf")
                continue
            numeric = [c for c in fx.columns if pd.api.types.is_numeric_dtype(fx[c])]
            other = [c for c in fx.columns if c not in numeric]
            u, v = fx[numeric].to_numpy(float), fy[numeric].to_numpy(float)
            rel = float(np.nanmax(np.abs(u - v) / np.maximum(np.abs(u), 1e-300))) if u.size else 0.0
            worst = max(worst, rel)
            print(f"DIFF {scenario} {name}: other columns equal: {fx[other].equals(fy[other])}, largest relative difference {rel:.3g}")
    print(f"{identical + differ} tables compared: {identical} identical, {differ} differ; largest relative difference {worst:.3g}")
    return 0 if differ == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dump").add_argument("path")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.path)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())

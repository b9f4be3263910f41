"""The liquidity black hole in the shipped scenarios (issue 19's closing figures): per token with
an exit pool or a depeg threshold, what its pool absorbs within 1–25 % price impact with 0, 50 and
90 % of every exit pool's liquidity gone, beside the collateral a depeg of that size makes
liquidatable; then δ₁, δ_c and δ_bd at the same haircuts, and what those three solves cost.

    python bench/unwind.py                       # stream-2025 and susde-aave-loop
    python bench/unwind.py --scenario minimal

Markdown tables on stdout, each scenario at its seeded block.
"""

from __future__ import annotations

import argparse
import math
import time

SCENARIOS = ("stream-2025", "susde-aave-loop")


def _pct(x: float | None) -> str:
    return "never" if x is None or math.isnan(x) else f"{100 * x:.2f} %"


def report(scenario: str) -> None:
    import loopscan
    from loopscan import devnet
    from loopscan.solver.depth import LEVELS, absorbable
    from loopscan.solver.haircut import HAIRCUTS, haircut, haircut_column

    with devnet.start(scenario) as net:
        snap = loopscan.index(net.url, deployments=net, block=net.manifest["block"])
    result = loopscan.analyse(snap)
    book = result.solver.book
    depth = result.depth.set_index(["token", "level_frac"])
    shocked = set(result.depth["token"])
    print(f"\n## {scenario} (block {snap.meta.block_number}): absorbable within the impact, USD")
    print("liquidatable: collateral a depeg of that size newly opens (before feedback), and its ratio to the depth\n")
    print("| token | liquidity gone | " + " | ".join(f"{round(level * 100)} %" for level in LEVELS) + " |")
    print("|---|---:|" + "---:|" * len(LEVELS))
    for token in sorted(set(book.exits) | shocked, key=lambda t: book.symbols.get(t, t)):
        for fraction in HAIRCUTS:
            cut = haircut(book, fraction)
            cells = []
            for level in LEVELS:
                sold = absorbable(cut, token, level)
                cell = "no pool read" if sold is None else f"${sold[1] / 1e6:,.2f}M"
                opened = depth.loc[(token, level)] if (token, level) in depth.index else None
                if opened is not None and opened.liquidatable_positions:
                    cell += f"; ${opened.liquidatable_usd / 1e6:,.1f}M liq."
                    if sold is not None:
                        cell += f" ({opened.liquidatable_usd / sold[1]:,.1f}x)" if sold[1] else " (∞)"
                cells.append(cell)
            print(f"| {book.symbols.get(token, token)} | {round(fraction * 100)} % | " + " | ".join(cells) + " |")
    started = time.perf_counter()
    table = result.haircut_thresholds
    seconds = time.perf_counter() - started
    print(f"\n## {scenario}: depeg thresholds at {' / '.join(f'{round(f * 100)}' for f in HAIRCUTS)} % of the liquidity gone")
    print(f"(ScanResult.haircut_thresholds: {len(HAIRCUTS)} solves in {seconds:.2f} s)\n")
    print("| token | δ₁ | δ_c | δ_bd |\n|---|---|---|---|")
    for r in table.itertuples():
        cells = [" / ".join(_pct(getattr(r, haircut_column(figure, f))) for f in HAIRCUTS) for figure in ("d1", "dc", "dbd")]
        print(f"| {r.symbol} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", help="a shipped scenario (default: stream-2025 and susde-aave-loop)")
    for scenario in parser.parse_args().scenario or SCENARIOS:
        report(scenario)


if __name__ == "__main__":
    main()

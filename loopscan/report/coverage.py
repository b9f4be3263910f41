"""What a scan read and what it did not, said in every report (terminal, JSON, HTML page), so that
no one reads a chain's figures as the whole story.

The scanner records it in the snapshot (`SnapshotMeta.coverage`): per protocol read, how many
markets, positions, vaults and pools it holds; every other registered protocol with why it was not
read; and debt a devnet's scenario records on lenders the devnet does not deploy (`off_devnet`).
This module adds what the registry says of each protocol (solved, proven on a node) and writes it
out. Off-devnet debt is data from the scenario, never computed and never added into a figure.

    >>> coverage_lines(result.snapshot)   # doctest: +SKIP
    ['coverage: read morpho_blue (4 markets, 9 positions), ...; not read: aave_v3, ... (not listed ...)', ...]
"""

from __future__ import annotations

from loopscan.model import Snapshot
from loopscan.protocols import registry
from loopscan.report.units import usd
from loopscan.textsafe import terminal_safe

__all__ = ["UNPROVEN", "coverage", "coverage_lines"]

UNPROVEN = "unproven_on_node"  # the mark of a protocol no deployable package exists for
_LONG = 240  # a lender or a source is the scenario's prose: kept whole, escaped all the same
_HELD = (("markets", "market"), ("positions", "position"), ("vaults", "vault"), ("pools", "pool"))


def coverage(snapshot: Snapshot) -> dict:
    """The snapshot's coverage as plain JSON (the report's `coverage` key, `ScanResult.coverage`):
    `recorded` (False for a snapshot read before loopscan recorded it: then everything else is
    empty), `read` (per protocol: its counts, `solved`, `proven_on_node`), `not_read` (per
    protocol: `reason`, `proven_on_node`) and `off_devnet` (lender, token, token_address,
    debt_usd, source), in registry order."""
    recorded = snapshot.meta.coverage
    if recorded is None:
        return {"recorded": False, "read": [], "not_read": [], "off_devnet": []}
    specs = registry.all_specs()
    read = [{"protocol": name, **{table: int(counts.get(table, 0)) for table, _ in _HELD},
             "solved": specs[name].solved, "proven_on_node": specs[name].proven_on_node}
            for name, counts in recorded["read"].items()]  # fmt: skip
    not_read = [{"protocol": name, "reason": why, "proven_on_node": specs[name].proven_on_node}
                for name, why in recorded["not_read"].items()]  # fmt: skip
    return {"recorded": True, "read": read, "not_read": not_read, "off_devnet": [dict(d) for d in recorded["off_devnet"]]}


def _held(entry: dict) -> str:
    counts = [f"{entry[table]:,} {one}{'s' if entry[table] != 1 else ''}" for table, one in _HELD if entry[table]]
    notes = counts or ["nothing found"]
    if not entry["solved"]:
        notes.append("read but not solved by the solver: in no threshold")
    if not entry["proven_on_node"]:
        notes.append(UNPROVEN)
    return f"{entry['protocol']} ({', '.join(notes)})"


def coverage_lines(snapshot: Snapshot) -> list[str]:
    """The coverage as lines of text (escaped: safe for a terminal, plain for a page): what was read
    and not, which figures rest on code not proven on a node, and each off-devnet debt apart."""
    cov = coverage(snapshot)
    if not cov["recorded"]:
        return ["coverage: not recorded in this snapshot (read by an older loopscan, or kept by the history store)"]
    by_reason: dict[str, list[str]] = {}
    for entry in cov["not_read"]:
        by_reason.setdefault(entry["reason"], []).append(entry["protocol"] + ("" if entry["proven_on_node"] else f" ({UNPROVEN})"))
    read = ", ".join(_held(e) for e in cov["read"]) or "nothing"
    not_read = "; ".join(f"{', '.join(names)} ({why})" for why, names in by_reason.items()) or "nothing"
    lines = [f"coverage: read {read}; not read: {not_read}"]
    unproven = [e["protocol"] for e in cov["read"] if not e["proven_on_node"]]
    elsewhere = sorted(n for n, s in registry.all_specs().items() if not s.proven_on_node and n not in unproven)
    if unproven:
        lines.append(f"{UNPROVEN}: figures resting on {', '.join(unproven)} follow published code no package here deploys; "
                     "they are not proven on a node")  # fmt: skip
    elif elsewhere:
        lines.append(f"no figure rests on code not proven on a node ({', '.join(elsewhere)}: {UNPROVEN}, not read)")
    for d in cov["off_devnet"]:
        lines.append(f"not on this devnet (recorded by the scenario, in no figure): {usd(d['debt_usd'])} of debt against "
                     f"{terminal_safe(d['token'])} on {terminal_safe(d['lender'], _LONG)} "
                     f"(source: {terminal_safe(d['source'], _LONG)})")  # fmt: skip
    return lines

"""Every protocol loopscan knows, in one list: adding a protocol is one line in `PACKAGES`.

    >>> from loopscan.protocols import registry
    >>> registry.spec("spark").margin
    'pooled'
    >>> registry.spec("compound_v2")
    Traceback (most recent call last):
    ...
    loopscan.protocols.registry.UnknownProtocolError: unknown protocol 'compound_v2'; known: aave_v3, compound_v3, curve, erc4626, euler_v2, gearbox, metamorpho, morpho_blue, pendle, spark, uniswap_v3

The solver, the graph, the exports and the reports ask this module about a protocol (its role,
its margin, its rules) and never name one; a name nobody registered is an error, never a
default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import import_module
from typing import Any

from loopscan.errors import LoopscanError
from loopscan.protocols.liquidity import VenueUnpriced
from loopscan.protocols.spec import ProtocolSpec

__all__ = ["PACKAGES", "UnknownProtocolError", "VenueUnpriced", "all_specs", "names", "spec", "check_names", "rules", "by_margin", "venues", "deployment_protocols", "devnet_entries",
           "devnet_parts", "devnet_units", "fetch_feed_kinds"]  # fmt: skip

PACKAGES = ("morpho_blue", "metamorpho", "aave_v3", "erc4626", "uniswap_v3", "curve", "compound_v3", "euler_v2", "pendle", "gearbox")
"""The protocol packages under `loopscan.protocols`, each declaring its `SPECS`."""


class UnknownProtocolError(LoopscanError):
    """A snapshot, a deployments file or `--protocols` names a protocol loopscan does not know."""


@cache
def all_specs() -> dict[str, ProtocolSpec]:
    found: dict[str, ProtocolSpec] = {}
    for package in PACKAGES:
        for s in import_module(f"loopscan.protocols.{package}").SPECS:
            found[s.name] = s
    return found


def names(role: str | None = None) -> tuple[str, ...]:
    """Registered protocol names (of one role), in the order of `PACKAGES`: a scan plans its
    indexers in this order, so the snapshot's rows come in it."""
    return tuple(n for n, s in all_specs().items() if role is None or s.role == role)


def spec(name: str, where: str = "") -> ProtocolSpec:
    """The spec of `name`; `where` says who asked (a file, a snapshot) in the error."""
    found = all_specs().get(name)
    if found is None:
        origin = f"{where}: " if where else ""
        raise UnknownProtocolError(f"{origin}unknown protocol {name!r}; known: {', '.join(sorted(names()))}")
    return found


def check_names(found: Iterable[str], where: str) -> None:
    """Raise `UnknownProtocolError` naming `where` if any of `found` is not registered."""
    for name in sorted(set(found)):
        spec(name, where)


def rules(name: str):
    """The liquidation rules module of lending protocol `name`."""
    return spec(name).load("rules")


def venues(name: str, pool: Any, rows: Mapping[str, Sequence[Any]], decimals: Mapping[str, int]) -> list:
    """The exit venues (`loopscan.solver.exits.Venue`) of one snapshot `pools` row of venue `name`,
    with that pool's rows of the other tables (by table name); none where the solver cannot sell
    into that venue yet. Raises `VenueUnpriced` for a pool of a modelled venue whose maths cannot
    price it at the pin."""
    module = spec(name).venue
    return [] if module is None else import_module(module).venues(pool, rows, decimals)


def by_margin(name: str) -> str:
    """How lending protocol `name` groups positions for its health check: isolated, pooled or account."""
    margin = spec(name).margin
    if margin is None:
        raise UnknownProtocolError(f"protocol {name!r} is not a lending protocol: it has no margin rule")
    return margin


def deployment_protocols() -> frozenset[str]:
    """The `protocol` values a deployments file may use: every registered name and every protocol
    a registered package reads contracts of (e.g. `erc4626` vaults, read by `vaults`)."""
    found = set(all_specs())
    for s in all_specs().values():
        found |= {p for p, _ in (*s.probes, *s.devnet_contracts.values(), *s.devnet_tokens.values())}
    return frozenset(found)


def devnet_entries() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """How a devnet manifest's contracts (by name) and vault tokens (by kind) map to deployments
    (protocol, kind) entries, as the packages declare them."""
    contracts: dict[str, tuple[str, str]] = {}
    tokens: dict[str, tuple[str, str]] = {}
    for s in all_specs().values():
        contracts.update(s.devnet_contracts)
        tokens.update(s.devnet_tokens)
    return contracts, tokens


def devnet_parts() -> tuple[tuple[str, type], ...]:
    """(scenario section, `Part` class) of every package with a devnet part, in `PACKAGES` order:
    the order the devnet deploys them in."""
    return tuple((s.scenario_section or "", s.load("devnet").PART) for s in all_specs().values() if s.devnet)


def devnet_units() -> tuple:
    """The compile units (`loopscan.devnet.build.CompileUnit`) the packages' devnet parts deploy."""
    return tuple(unit for s in all_specs().values() if s.devnet for unit in s.load("devnet").UNITS)


async def fetch_feed_kinds(ctx, feeds: set[str]) -> dict[str, str]:
    """The kind of each feed among `feeds` that a registered package publishes (`ProtocolSpec.feeds`,
    e.g. a PT feed: `linear_discount`); plain market feeds are left out. `ctx` is the scan's
    `ScanContext` (a lender's indexer asks, so no protocol names another)."""
    kinds: dict[str, str] = {}
    for s in all_specs().values():
        if s.feeds is not None and feeds:
            kinds |= await s.load("feeds").fetch_feed_kinds(ctx, feeds)
    return kinds

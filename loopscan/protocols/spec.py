"""What a protocol package declares about itself, so that no code outside it names it.

Each package under `loopscan.protocols` (one per protocol or liquidity venue) defines `SPECS`, a
tuple of `ProtocolSpec`; `loopscan.protocols.registry` lists the packages. Everything a spec
points at is a module path, imported on first use: planning a scan imports the indexers (and
with them the RPC layer), solving imports only the pure rules.

Roles:

* ``lending``: markets and positions (`markets`, `positions` rows); `rules` is its liquidation
  maths and `margin` says how its health check groups positions: ``isolated`` (one market's
  collateral against its own debt: Morpho Blue), ``pooled`` (an account's collateral across
  every reserve of the protocol contract against all its debts: Aave v3) or ``account`` (a credit
  account: several collaterals, each with its own oracle and threshold and protocol caps,
  against one debt in the market's loan token: Gearbox v3). An ``account`` protocol's rules
  answer `weighted_values`, `liquidatable`, `caps`, `owed` and `liquidate_account`.
* ``vaults``: receipt tokens minted for deposits (`vaults`, `holdings` rows).
* ``venue``: pools that liquidations are sold into (`pools`, `pool_coins`, `ticks` rows);
  `venue` is the module whose `venues(pool, rows, decimals)` turns one `pools` row (with that
  pool's rows of the other tables, by table name) into exit venues (`loopscan.solver.exits.Venue`,
  each selling one coin for another with the pool's exact swap maths), `None` where the solver
  cannot sell into it.

A lending protocol the solver cannot apply yet (`solved=False`: Compound v3 and Euler v2) is read
only when asked for by name; its markets are left out of the thresholds and listed as such
(`Book.unsolved`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

__all__ = ["ProtocolSpec"]


@dataclass(frozen=True)
class ProtocolSpec:
    """One protocol, as loopscan reads, solves and deploys it."""

    name: str  # as in snapshots, deployments files and `--protocols`
    role: str  # lending, vaults or venue
    indexer: str  # module whose `plan(deployments, name, **context)` returns this protocol's indexers
    probes: dict[tuple[str, str], str] = field(default_factory=dict)  # deployments (protocol, kind) it reads
    # -> a view that kind of contract answers, to catch an entry that points elsewhere
    rules: str | None = None  # lending: module of its liquidation rules (pure)
    margin: str | None = None  # lending: isolated, pooled or account
    venue: str | None = None  # venue: module of its `venues` builder (pure)
    feeds: str | None = None  # module whose `fetch_feed_kinds(ctx, addresses)` names the kind (an `OracleKind`
    # value) of the price feeds among `addresses` that this protocol publishes; a lender's oracle built on one
    # of them is of that kind (a Morpho oracle over a Pendle PT feed moves as the PT feed does)
    devnet_contracts: dict[str, tuple[str, str]] = field(default_factory=dict)  # devnet manifest contract
    # name -> deployments (protocol, kind)
    devnet_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # devnet manifest token kind -> same
    devnet: str | None = None  # module holding its devnet `PART` (a `loopscan.devnet.part.Part`) and compile `UNITS`
    scenario_section: str | None = None  # the scenario file's section its `PART` reads
    proven_on_node: bool = True  # False: no deployable package exists; its figures are not proven on a node
    solved: bool = True  # False: read only when asked for (`--protocols`); the solver leaves its markets out, saying so

    def load(self, what: str) -> ModuleType:
        """The module behind `indexer`, `rules`, `venue`, `feeds` or `devnet`, imported now."""
        path = getattr(self, what)
        if path is None:
            raise AttributeError(f"protocol {self.name} has no {what}")
        return import_module(path)

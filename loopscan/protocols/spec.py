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
  against one debt in the market's loan token: Gearbox v3, Compound v3's Comets, Euler v2's
  controller vaults). An ``account`` protocol's rules answer `weighted_values`, `liquidatable`,
  `caps`, `owed`, `reserves` and `liquidate_account`; the last takes the account's collateral
  value per token (so a protocol can credit each at its own factor) and says what one liquidation
  does in an `AccountLiquidation`: how much of each token it takes, the debt it clears, what the
  liquidator pays (or that the protocol takes it whatever anyone's profit: `forced`), and the
  lenders' loss, which the protocol's `reserves` absorb first.
* ``vaults``: receipt tokens minted for deposits (`vaults`, `holdings` rows).
* ``venue``: pools that liquidations are sold into (`pools`, `pool_coins`, `ticks` rows);
  `venue` is the module whose `venues(pool, rows, decimals)` turns one `pools` row (with that
  pool's rows of the other tables, by table name) into exit venues (`loopscan.solver.exits.Venue`,
  each selling one coin for another with the pool's exact swap maths), `None` where the solver
  cannot sell into it.

A lending protocol the solver cannot apply yet (`solved=False`) is read only when asked for by name; its markets are left out of the thresholds and listed as such
(`Book.unsolved`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType

import numpy as np

__all__ = ["ProtocolSpec", "AccountLiquidation"]


@dataclass(frozen=True)
class AccountLiquidation:
    """One liquidation of an ``account``-margin position, in its loan tokens at the oracle."""

    taken: np.ndarray  # per token of the market (its columns): the fraction of the account's balance taken
    repaid: float  # debt the account no longer owes: repaid, absorbed or written off
    paid: float  # what the liquidator pays for what it takes (at market it must not exceed what it gets)
    to_pool: float  # what the lenders are paid of what they are owed
    loss: float  # what the lenders are owed and not paid: the protocol's reserves take it first
    forced: bool = False  # the protocol itself takes the account, profitable to anyone or not (Comet's absorb)


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
    reuse: str | None = None  # lending: module saying which positions the logs between two blocks changed, so
    # that a backtest's worker reads only those again (`loopscan.protocols.reuse`); None: every block read whole
    devnet_contracts: dict[str, tuple[str, str]] = field(default_factory=dict)  # devnet manifest contract
    # name -> deployments (protocol, kind)
    devnet_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # devnet manifest token kind -> same
    devnet: str | None = None  # module holding its devnet `PART` (a `loopscan.devnet.part.Part`) and compile `UNITS`
    scenario_section: str | None = None  # the scenario file's section its `PART` reads
    proven_on_node: bool = True  # False: no deployable package exists; its figures are not proven on a node
    solved: bool = True  # False: read only when asked for (`--protocols`); the solver leaves its markets out, saying so

    def load(self, what: str) -> ModuleType:
        """The module behind `indexer`, `rules`, `venue`, `feeds`, `reuse` or `devnet`, imported now."""
        path = getattr(self, what)
        if path is None:
            raise AttributeError(f"protocol {self.name} has no {what}")
        return import_module(path)

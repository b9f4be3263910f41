"""A protocol package's share of a devnet: its scenario section, its deployment, its actions.

The devnet itself deploys only what is ours (`contracts/`: scenario tokens, price feeds, vaults,
stablecoins) and runs the generic actions (mint, transfer, deposit, ...). Everything a protocol
adds is a `Part`, declared by its package (`ProtocolSpec.devnet` names the module holding `PART`
and the compile units `UNITS`; `ProtocolSpec.scenario_section` the TOML section it reads) and
reached through the registry: the scenario loader, the seeder, the manifest and the summary ask
the parts and name no protocol.

Parts are built and run in the registry's order (`registry.PACKAGES`), which is also the order of
their deployments: a deployment's addresses depend on it, so a new package goes after the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the seeder and the scenario import the parts: only their types here
    from rich.console import Console

    from loopscan.devnet.scenario import Scenario, Step
    from loopscan.devnet.seed import Seeder

__all__ = ["Part"]


class Part:
    """Hooks with nothing to do by default; a package overrides those it needs."""

    # Each action's fields and what each refers to (as `scenario.ACTIONS`); its handler is the
    # method `do_<action with dots as underscores>`.
    ACTIONS: dict[str, dict[str, str]] = {}
    OPTIONAL_FIELDS: dict[str, set[str]] = {}
    PROVENANCE: dict[str, str] = {}  # manifest contract name -> the npm package its code comes from

    # -- the scenario file: no chain ----------------------------------------------------------
    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        """Read this part's section (`data`, {} if absent) into `scenario`."""

    @classmethod
    def check(cls, scenario: Scenario) -> None:
        """Check this part's declarations (`scenario.error` names the file and the place)."""

    @classmethod
    def refs(cls, scenario: Scenario) -> dict[str, set[str]]:
        """The reference kinds this part declares (e.g. `market`), each with its ids."""
        return {}

    @classmethod
    def share_tokens(cls, scenario: Scenario) -> dict[str, dict]:
        """Receipt tokens this part's section declares (id -> its spec, with `asset` and
        `decimals`), which steps may name like any token."""
        return {}

    @classmethod
    def check_step(cls, scenario: Scenario, step: Step) -> None:
        """What the field kinds cannot say about one of this part's steps."""

    # -- seeding: on a chain ------------------------------------------------------------------
    def __init__(self, seeder: Seeder) -> None:
        self.seeder = seeder

    def deploy_protocol(self) -> None:
        """The protocol's own contracts that the scenario's tokens need (before them)."""

    def deploy_tokens(self) -> None:
        """Tokens and feeds this part issues over the scenario's vaults, which other parts'
        sections may name (Pendle's PTs and PT feeds): after the vaults, before any `deploy`."""

    def deploy(self) -> None:
        """This part's section, after the scenario's tokens and feeds."""

    def attach_tokens(self, manifest: dict) -> None:
        """Rebind the tokens and feeds of `deploy_tokens` on a devnet deployed earlier (before any
        part's `attach`, which may name them)."""

    def attach(self, manifest: dict) -> None:
        """Rebind to a devnet deployed earlier (a cached state), so events can still be applied."""

    def on_deposit(self, vault: str, assets: int) -> None:
        """An ERC-4626 deposit was made into `vault` (a share token of any part)."""

    def token_kind(self, token: str) -> str | None:
        """The manifest `kind` of a token this part deployed, None if not its own."""
        return None

    def manifest(self, names: dict[str, str]) -> dict[str, Any]:
        """Its manifest entries (top-level key -> value); `names` maps addresses to account or
        token names."""
        return {}

    def positions(self, names: dict[str, str]) -> dict[str, list[dict]]:
        """Its seeded positions, by the manifest `positions` key."""
        return {}

    @staticmethod
    def summary(console: Console, manifest: dict) -> str | None:
        """Print this part's tables of a manifest; return its count of seeded positions, as words."""
        return None

"""Scenario files: what a devnet deploys and the transactions that seed it, as data.

A scenario is a TOML file (`fixtures/scenarios/*.toml`). It declares tokens, price feeds,
vaults and stablecoins (ours: `contracts/`), runtime code at fixed addresses (`[[code]]`), a
section per protocol (read by that protocol's devnet part, `loopscan.devnet.part`, under the
section name its spec declares), then a list of
`[[steps]]` that the seeder executes as real transactions, and named `[[events]]` (e.g. a
manager's write-down) that are applied on request, not at seeding. `[[off_devnet]]` records debt
that existed in reality on lenders the devnet does not deploy (lender, token, debt_usd, source):
data the report states beside its figures, never read into them.

Amounts and prices are written in human units (`"1250000.5"`), as decimal strings or numbers,
and converted exactly to token units with the token's decimals. Every reference (a token, a
market, a vault...) is checked when the file is loaded, so a typo fails before any transaction,
with the file, the step and the field in the message.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from loopscan import shipped
from loopscan.devnet.errors import ScenarioError

__all__ = ["Scenario", "Step", "load_scenario", "scenario_path", "SCENARIOS_DIR", "ACTIONS", "actions", "parts", "to_units",
           "by_id", "decimal", "BASE_TOKEN_CONTRACTS", "TOKEN_FIELDS"]  # fmt: skip

SCENARIOS_DIR = shipped.root() / "fixtures" / "scenarios"  # in a checkout or a wheel (loopscan.shipped)


def scenario_path(name_or_path: str | Path) -> Path:
    """A scenario by name (`stream-2025`) from `fixtures/scenarios/`, or a path to a file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return SCENARIOS_DIR / f"{name_or_path}.toml"


def to_units(amount: Decimal, decimals: int) -> int:
    """Exact token units of a human amount; more precision than the token has is an error."""
    units = amount.scaleb(decimals)
    if units != units.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(units)


# Each action's fields and what each refers to. Kinds: a section of the scenario (token, vault,
# market, ...), "account" (any name), "amount" (a human amount), "number" (a decimal),
# "int" (an integer). These are the devnet's own; each protocol's part adds its own (`actions()`).
ACTIONS: dict[str, dict[str, str]] = {
    "mint": {"token": "token", "to": "account", "amount": "amount"},
    "transfer": {"token": "token", "from": "account", "to": "account", "amount": "amount"},
    "deposit": {"vault": "erc4626_vault", "from": "account", "assets": "amount"},
    "vault.fund_strategy": {"vault": "vault", "assets": "amount"},
    "vault.report": {"vault": "vault", "offchain_assets": "amount"},
    "vault.distribute_yield": {"vault": "vault", "assets": "amount"},
    "stablecoin.mint": {"coin": "stablecoin", "from": "account", "reserve_amount": "amount"},
    "feed.set": {"feed": "feed", "answer": "number"},
    # A `rebasing` token's every balance times `factor` (its index set to it, from 1 at deployment).
    "token.rebase": {"token": "token", "factor": "number"},
}
# A base token's `kind` (default `base`) and the contract of ours that implements it. The last
# three are mainnet's odd metadata (contracts/zoo/ZooTokens.sol): nothing can be minted of them.
BASE_TOKEN_CONTRACTS = {"base": "ScenarioToken", "fee_on_transfer": "FeeOnTransferToken", "rebasing": "RebasingToken",
                        "bytes32_metadata": "Bytes32MetadataToken", "no_metadata": "NoMetadataToken",
                        "reverting_decimals": "RevertingDecimalsToken"}  # fmt: skip
# The metadata a kind's declaration gives (its contract takes it); the others' is name, symbol,
# decimals. A token without `symbol()`/`name()` declares only decimals; one whose `decimals()`
# reverts declares nothing (its contract fixes its name and symbol).
TOKEN_FIELDS = {"no_metadata": ("decimals",), "reverting_decimals": ()}
_METADATA = ("name", "symbol", "decimals")


def parts() -> tuple[tuple[str, type], ...]:
    """(section, `Part`) of each registered protocol with a devnet part, in deployment order."""
    from loopscan.protocols import registry  # the packages' parts import this module

    return registry.devnet_parts()


def actions() -> dict[str, tuple[dict[str, str], set[str], type | None]]:
    """Every action: its fields, its optional fields, and the part that runs it (None: the seeder)."""
    found: dict[str, tuple[dict[str, str], set[str], type | None]] = {a: (f, set(), None) for a, f in ACTIONS.items()}
    for _, part in parts():
        found |= {a: (f, part.OPTIONAL_FIELDS.get(a, set()), part) for a, f in part.ACTIONS.items()}
    return found


@dataclass(frozen=True)
class Step:
    """One seeding action: `index` is its place in the file (1-based), for error messages."""

    index: int
    action: str
    args: dict
    section: str = "steps"

    @property
    def label(self) -> str:
        return f"{self.section}[{self.index}] ({self.action})"


@dataclass
class Scenario:
    """A scenario as loaded. Each protocol's part sets the attributes of its own section (e.g.
    `markets`, `pools`) in `Part.parse`."""

    name: str
    path: Path
    description: str
    tokens: dict[str, dict] = field(default_factory=dict)
    feeds: dict[str, dict] = field(default_factory=dict)
    vaults: dict[str, dict] = field(default_factory=dict)
    stablecoins: dict[str, dict] = field(default_factory=dict)
    share_tokens: dict[str, dict] = field(default_factory=dict)  # receipt tokens the parts declare (`asset`, `decimals`)
    # Runtime code placed at a fixed address (`address`, `runtime` hex; none: an account without
    # code), as mainnet holds contracts nobody here deploys: an oracle that reverts, say.
    code: dict[str, dict] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    events: dict[str, list[Step]] = field(default_factory=dict)
    off_devnet: list[dict] = field(default_factory=list)  # debt on lenders not deployed here (`_off_devnet`)

    def __getattr__(self, name: str) -> Any:  # a part's section, as it set it
        raise AttributeError(f"scenario has no {name!r}: no registered devnet part sets it")

    def error(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {where}: {message}")

    def decimals(self, token: str) -> int:
        """Decimals of any token id: a base token, a vault share or a stablecoin."""
        if token in self.tokens:
            return int(self.tokens[token]["decimals"])
        if token in self.vaults:
            return self.decimals(self.vaults[token]["asset"])  # OZ ERC-4626 without offset
        if token in self.share_tokens:
            return int(self.share_tokens[token]["decimals"])
        if token in self.stablecoins:
            return 18
        raise KeyError(token)

    def root(self, token: str) -> str:
        """The base token at the bottom of a receipt token (xUSD -> USDC, sdeUSD -> deUSD -> USDC)."""
        if token in self.tokens:
            return token
        if token in self.stablecoins:
            return self.root(self.stablecoins[token]["reserve"])
        spec = self.vaults.get(token) or self.share_tokens[token]
        return self.root(spec["asset"])

    def all_tokens(self) -> list[str]:
        return [*self.tokens, *self.stablecoins, *self.vaults, *self.share_tokens]


def decimal(value, where: str, scenario: Scenario) -> Decimal:
    """`value` as a finite Decimal, or a `ScenarioError` naming `where`."""
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise scenario.error(where, f"{value!r} is not a number") from None
    if not result.is_finite():
        raise scenario.error(where, f"{value!r} is not a finite number")
    return result


def by_id(items: list[dict], section: str, scenario: Scenario) -> dict[str, dict]:
    """A section's items by their `id`, each present and unique."""
    out: dict[str, dict] = {}
    for i, item in enumerate(items, 1):
        if "id" not in item:
            raise scenario.error(f"{section}[{i}]", "has no `id`")
        if item["id"] in out:
            raise scenario.error(f"{section}[{i}]", f"duplicate id {item['id']!r}")
        out[item["id"]] = item
    return out


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Parse and check a scenario file; every error names the file and the place in it."""
    path = scenario_path(name_or_path)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml")))
        raise ScenarioError(f"no scenario {str(name_or_path)!r} (known: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    scenario = Scenario(name=data.get("name", path.stem), path=path, description=data.get("description", ""))
    scenario.tokens = by_id(data.get("tokens", []), "tokens", scenario)
    scenario.feeds = by_id(data.get("feeds", []), "feeds", scenario)
    scenario.vaults = by_id(data.get("vaults", []), "vaults", scenario)
    scenario.stablecoins = by_id(data.get("stablecoins", []), "stablecoins", scenario)
    scenario.code = by_id(data.get("code", []), "code", scenario)
    for section, part in parts():
        part.parse(scenario, data.get(section, {}))
    for _, part in parts():
        scenario.share_tokens |= part.share_tokens(scenario)
    scenario.steps = [Step(i, s.get("action", ""), s) for i, s in enumerate(data.get("steps", []), 1)]
    for event in data.get("events", []):
        name = event.get("name")
        if not name:
            raise scenario.error("events", "an event has no `name`")
        scenario.events[name] = [
            Step(i, s.get("action", ""), s, section=f"events.{name}") for i, s in enumerate(event.get("steps", []), 1)
        ]
    scenario.off_devnet = [_off_devnet(scenario, i, item) for i, item in enumerate(data.get("off_devnet", []), 1)]
    _check(scenario)
    return scenario


_OFF_DEVNET_FIELDS = ("lender", "token", "debt_usd", "source")


def _off_devnet(s: Scenario, index: int, item: dict) -> dict:
    """One `[[off_devnet]]` entry, checked: every field present, a known token, a USD amount."""
    where = f"off_devnet[{index}]"
    if not isinstance(item, dict):
        raise s.error(where, "not a table")
    for key in _OFF_DEVNET_FIELDS:
        if key not in item:
            raise s.error(where, f"missing field `{key}`")
        if key != "debt_usd" and not (isinstance(item[key], str) and item[key].strip()):
            raise s.error(where, f"`{key}` is not a non-empty string")
    extra = set(item) - set(_OFF_DEVNET_FIELDS)
    if extra:
        raise s.error(where, f"unexpected field(s) {', '.join(sorted(extra))}")
    if item["token"] not in s.all_tokens():
        raise s.error(where, f"unknown token {item['token']!r} in `token`")
    debt = decimal(item["debt_usd"], where, s)
    if debt < 0:
        raise s.error(where, "`debt_usd` is negative")
    return {**item, "debt_usd": debt}


def _check(s: Scenario) -> None:
    """Check every declaration and step before anything is deployed."""
    tokens = set(s.all_tokens())
    for tid, t in s.tokens.items():
        kind = t.get("kind", "base")
        if kind not in BASE_TOKEN_CONTRACTS:
            raise s.error(f"tokens {tid!r}", f"unknown kind {kind!r} (known: {', '.join(BASE_TOKEN_CONTRACTS)})")
        fields = TOKEN_FIELDS.get(kind, _METADATA)
        if missing := [f for f in fields if f not in t]:
            raise s.error(f"tokens {tid!r}", f"missing field(s) {', '.join(missing)}")
        if extra := [f for f in _METADATA if f in t and f not in fields]:
            raise s.error(f"tokens {tid!r}", f"a {kind} token has no {', '.join(extra)}")
        if kind == "bytes32_metadata" and any(len(t[f].encode()) > 32 for f in ("name", "symbol")):
            raise s.error(f"tokens {tid!r}", "a bytes32 name or symbol is at most 32 bytes")
    for cid, c in s.code.items():
        if not isinstance(c.get("address"), str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", c["address"]):
            raise s.error(f"code {cid!r}", f"`address` {c.get('address')!r} is not a 20-byte 0x address")
        runtime = c.get("runtime", "0x")
        if not isinstance(runtime, str) or not re.fullmatch(r"0x(?:[0-9a-fA-F]{2})*", runtime):
            raise s.error(f"code {cid!r}", f"`runtime` {runtime!r} is not 0x-prefixed hex bytes")
    for section, items, fields in (
        ("vaults", s.vaults, {"asset": tokens}),
        ("stablecoins", s.stablecoins, {"reserve": set(s.tokens)}),
    ):
        for item_id, item in items.items():
            for key, allowed in fields.items():
                if item.get(key) not in allowed:
                    raise s.error(f"{section} {item_id!r}", f"unknown {key} {item.get(key)!r}")
    for _, part in parts():
        part.check(s)
    for step in [*s.steps, *(st for steps in s.events.values() for st in steps)]:
        _check_step(s, step)


def _check_step(s: Scenario, step: Step) -> None:
    known = actions()
    if step.action not in known:
        raise s.error(step.label, f"unknown action (known: {', '.join(sorted(known))})")
    spec, optional, part = known[step.action]
    refs = {
        "token": set(s.all_tokens()),
        "vault": set(s.vaults),
        "erc4626_vault": set(s.vaults) | set(s.share_tokens),
        "stablecoin": set(s.stablecoins),
        "feed": set(s.feeds),
    }
    for _, p in parts():
        refs |= p.refs(s)
    for key, kind in spec.items():
        if key not in step.args:
            if key in optional:
                continue
            raise s.error(step.label, f"missing field `{key}`")
        value = step.args[key]
        if kind in refs and value not in refs[kind]:
            raise s.error(step.label, f"unknown {kind} {value!r} in `{key}`")
        if kind in ("amount", "number"):
            number = decimal(value, step.label, s)
            if number < 0:
                raise s.error(step.label, f"`{key}` is negative")
        if kind == "int" and not isinstance(value, int):
            raise s.error(step.label, f"`{key}` must be an integer")
    extra = set(step.args) - set(spec) - {"action", "note"}
    if extra:
        raise s.error(step.label, f"unexpected field(s) {', '.join(sorted(extra))}")
    if part is not None:
        part.check_step(s, step)

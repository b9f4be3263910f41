"""Scenario files: what a devnet deploys and the transactions that seed it, as data.

A scenario is a TOML file (`fixtures/scenarios/*.toml`). It declares tokens, price feeds,
vaults, stablecoins, Morpho oracles and markets, MetaMorpho vaults, an Aave v3 pool, Uniswap v3
pools, then a list of `[[steps]]` that the seeder executes as real transactions, and named
`[[events]]` (e.g. a manager's write-down) that are applied on request, not at seeding.

Amounts and prices are written in human units (`"1250000.5"`), as decimal strings or numbers,
and converted exactly to token units with the token's decimals. Every reference (a token, a
market, a vault...) is checked when the file is loaded, so a typo fails before any transaction,
with the file, the step and the field in the message.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from loopscan import shipped
from loopscan.devnet.errors import ScenarioError

__all__ = ["Scenario", "Step", "load_scenario", "scenario_path", "SCENARIOS_DIR", "ACTIONS", "to_units"]

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
# "int" (an integer).
ACTIONS: dict[str, dict[str, str]] = {
    "mint": {"token": "token", "to": "account", "amount": "amount"},
    "transfer": {"token": "token", "from": "account", "to": "account", "amount": "amount"},
    "deposit": {"vault": "erc4626", "from": "account", "assets": "amount"},
    "vault.fund_strategy": {"vault": "vault", "assets": "amount"},
    "vault.report": {"vault": "vault", "offchain_assets": "amount"},
    "vault.distribute_yield": {"vault": "vault", "assets": "amount"},
    "stablecoin.mint": {"coin": "stablecoin", "from": "account", "reserve_amount": "amount"},
    "stablecoin.lend": {"coin": "stablecoin", "market": "market", "assets": "amount"},
    "feed.set": {"feed": "feed", "answer": "number"},
    "morpho.supply": {"market": "market", "from": "account", "assets": "amount"},
    "morpho.supply_collateral": {"market": "market", "from": "account", "assets": "amount"},
    "morpho.borrow": {"market": "market", "from": "account", "assets": "amount"},
    "morpho.loop": {"market": "market", "account": "account", "equity": "amount", "leverage": "number"},
    "aave.supply": {"asset": "reserve", "from": "account", "amount": "amount"},
    "aave.borrow": {"asset": "reserve", "from": "account", "amount": "amount"},
    "aave.set_emode": {"from": "account", "category": "int"},
    "aave.loop": {
        "collateral": "reserve",
        "debt": "reserve",
        "account": "account",
        "equity": "amount",
        "leverage": "number",
        "emode": "int",
    },
    "uniswap.add_liquidity": {
        "pool": "pool",
        "from": "account",
        "lower_price": "number",
        "upper_price": "number",
        "amount_a": "amount",
        "amount_b": "amount",
    },
}
OPTIONAL_FIELDS = {"aave.loop": {"emode"}}


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
    name: str
    path: Path
    description: str
    tokens: dict[str, dict] = field(default_factory=dict)
    feeds: dict[str, dict] = field(default_factory=dict)
    vaults: dict[str, dict] = field(default_factory=dict)
    stablecoins: dict[str, dict] = field(default_factory=dict)
    oracles: dict[str, dict] = field(default_factory=dict)
    markets: dict[str, dict] = field(default_factory=dict)
    metamorpho: dict[str, dict] = field(default_factory=dict)
    aave: dict | None = None
    pools: dict[str, dict] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    events: dict[str, list[Step]] = field(default_factory=dict)

    def error(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {where}: {message}")

    def decimals(self, token: str) -> int:
        """Decimals of any token id: a base token, a vault share or a stablecoin."""
        if token in self.tokens:
            return int(self.tokens[token]["decimals"])
        if token in self.vaults:
            return self.decimals(self.vaults[token]["asset"])  # OZ ERC-4626 without offset
        if token in self.metamorpho:
            return 18  # MetaMorpho shares have 18 decimals whatever the asset
        if token in self.stablecoins:
            return 18
        raise KeyError(token)

    def root(self, token: str) -> str:
        """The base token at the bottom of a receipt token (xUSD -> USDC, sdeUSD -> deUSD -> USDC)."""
        if token in self.tokens:
            return token
        if token in self.stablecoins:
            return self.root(self.stablecoins[token]["reserve"])
        spec = self.vaults.get(token) or self.metamorpho[token]
        return self.root(spec["asset"])

    def all_tokens(self) -> list[str]:
        return [*self.tokens, *self.stablecoins, *self.vaults, *self.metamorpho]

    def reserve_assets(self) -> list[str]:
        return [r["asset"] for r in (self.aave or {}).get("reserves", [])]


def _decimal(value, where: str, scenario: Scenario) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise scenario.error(where, f"{value!r} is not a number") from None
    if not result.is_finite():
        raise scenario.error(where, f"{value!r} is not a finite number")
    return result


def _by_id(items: list[dict], section: str, scenario: Scenario) -> dict[str, dict]:
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
    scenario.tokens = _by_id(data.get("tokens", []), "tokens", scenario)
    scenario.feeds = _by_id(data.get("feeds", []), "feeds", scenario)
    scenario.vaults = _by_id(data.get("vaults", []), "vaults", scenario)
    scenario.stablecoins = _by_id(data.get("stablecoins", []), "stablecoins", scenario)
    morpho = data.get("morpho", {})
    scenario.oracles = _by_id(morpho.get("oracles", []), "morpho.oracles", scenario)
    scenario.markets = _by_id(morpho.get("markets", []), "morpho.markets", scenario)
    scenario.metamorpho = _by_id(data.get("metamorpho", {}).get("vaults", []), "metamorpho.vaults", scenario)
    scenario.aave = data.get("aave")
    scenario.pools = _by_id(data.get("uniswap", {}).get("pools", []), "uniswap.pools", scenario)
    scenario.steps = [Step(i, s.get("action", ""), s) for i, s in enumerate(data.get("steps", []), 1)]
    for event in data.get("events", []):
        name = event.get("name")
        if not name:
            raise scenario.error("events", "an event has no `name`")
        scenario.events[name] = [
            Step(i, s.get("action", ""), s, section=f"events.{name}") for i, s in enumerate(event.get("steps", []), 1)
        ]
    _check(scenario)
    return scenario


def _check(s: Scenario) -> None:
    """Check every declaration and step before anything is deployed."""
    tokens = set(s.all_tokens())
    for section, items, fields in (
        ("vaults", s.vaults, {"asset": tokens}),
        ("stablecoins", s.stablecoins, {"reserve": set(s.tokens)}),
        ("morpho.oracles", s.oracles, {"collateral": tokens, "loan": tokens}),
        ("morpho.markets", s.markets, {"collateral": tokens, "loan": tokens, "oracle": set(s.oracles)}),
        ("metamorpho.vaults", s.metamorpho, {"asset": set(s.tokens) | set(s.stablecoins)}),
        ("uniswap.pools", s.pools, {"token_a": tokens, "token_b": tokens}),
    ):
        for item_id, item in items.items():
            for key, allowed in fields.items():
                if item.get(key) not in allowed:
                    raise s.error(f"{section} {item_id!r}", f"unknown {key} {item.get(key)!r}")
    for oracle_id, oracle in s.oracles.items():
        for key, allowed in (("base_vault", s.vaults), ("base_feed", s.feeds), ("quote_feed", s.feeds)):
            if key in oracle and oracle[key] not in allowed:
                raise s.error(f"morpho.oracles {oracle_id!r}", f"unknown {key} {oracle[key]!r}")
    for market_id, market in s.markets.items():
        lltv = _decimal(market.get("lltv"), f"morpho.markets {market_id!r}", s)
        if not 0 < lltv < 1:
            raise s.error(f"morpho.markets {market_id!r}", f"lltv {lltv} is not between 0 and 1")
    for vault_id, vault in s.metamorpho.items():
        for entry in vault.get("markets", []):
            if entry.get("market") not in s.markets:
                raise s.error(f"metamorpho.vaults {vault_id!r}", f"unknown market {entry.get('market')!r}")
            if s.markets[entry["market"]]["loan"] != vault["asset"]:
                raise s.error(f"metamorpho.vaults {vault_id!r}", f"market {entry['market']!r} does not lend {vault['asset']}")
    if s.aave:
        for i, reserve in enumerate(s.aave.get("reserves", []), 1):
            if reserve.get("asset") not in tokens:
                raise s.error(f"aave.reserves[{i}]", f"unknown asset {reserve.get('asset')!r}")
            if reserve.get("source") not in s.feeds:
                raise s.error(f"aave.reserves[{i}]", f"unknown price source {reserve.get('source')!r}")
            ltv = _decimal(reserve.get("ltv", 0), f"aave.reserves[{i}]", s)
            lt = _decimal(reserve.get("liquidation_threshold", 0), f"aave.reserves[{i}]", s)
            if ltv > lt:
                raise s.error(f"aave.reserves[{i}]", f"ltv {ltv} above liquidation threshold {lt}")
        for i, emode in enumerate(s.aave.get("emodes", []), 1):
            for asset in emode.get("assets", []):
                if asset not in s.reserve_assets():
                    raise s.error(f"aave.emodes[{i}]", f"unknown reserve {asset!r}")
    for step in [*s.steps, *(st for steps in s.events.values() for st in steps)]:
        _check_step(s, step)


def _check_step(s: Scenario, step: Step) -> None:
    spec = ACTIONS.get(step.action)
    if spec is None:
        raise s.error(step.label, f"unknown action (known: {', '.join(sorted(ACTIONS))})")
    refs = {
        "token": set(s.all_tokens()),
        "vault": set(s.vaults),
        "erc4626": set(s.vaults) | set(s.metamorpho),
        "stablecoin": set(s.stablecoins),
        "market": set(s.markets),
        "feed": set(s.feeds),
        "reserve": set(s.reserve_assets()),
        "pool": set(s.pools),
    }
    for key, kind in spec.items():
        if key not in step.args:
            if key in OPTIONAL_FIELDS.get(step.action, ()):
                continue
            raise s.error(step.label, f"missing field `{key}`")
        value = step.args[key]
        if kind in refs and value not in refs[kind]:
            raise s.error(step.label, f"unknown {kind} {value!r} in `{key}`")
        if kind in ("amount", "number"):
            number = _decimal(value, step.label, s)
            if number < 0:
                raise s.error(step.label, f"`{key}` is negative")
        if kind == "int" and not isinstance(value, int):
            raise s.error(step.label, f"`{key}` must be an integer")
    extra = set(step.args) - set(spec) - {"action", "note"}
    if extra:
        raise s.error(step.label, f"unexpected field(s) {', '.join(sorted(extra))}")
    if step.action == "morpho.loop":
        market = s.markets[step.args["market"]]
        if s.root(market["collateral"]) != market["loan"]:
            raise s.error(
                step.label,
                f"a loop deposits the borrowed {market['loan']} to mint the collateral, "
                f"but {market['collateral']} is not built on {market['loan']}",
            )
        leverage = _decimal(step.args["leverage"], step.label, s)
        if leverage <= 1:
            raise s.error(step.label, f"leverage {leverage} must be above 1")
        ltv = (leverage - 1) / leverage
        if ltv >= _decimal(market["lltv"], step.label, s):
            raise s.error(
                step.label, f"leverage {leverage} means LTV {ltv:.4f}, at or above the market's LLTV {market['lltv']}"
            )

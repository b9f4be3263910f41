"""The snapshot's tables, defined once as data.

``SCHEMA`` maps each table to its ordered columns; empty frames, validation, Parquet
types and the README's schema table (``schema_markdown``) are all derived from it, so
a column is added in one place.

Column kinds and their pandas dtypes:

============  ==============================  ===========================================
kind          in memory                        meaning
============  ==============================  ===========================================
``address``   ``str``                          20-byte address, lowercase ``0x`` + 40 hex
``text``      ``str``                          free text / open-ended label
``enum``      ``str``                          one of a closed set (``Column.allowed``)
``uint256``   ``object`` of Python ``int``     raw on-chain unsigned amount, 0..2**256-1
``int256``    ``object`` of Python ``int``     raw on-chain signed amount, -2**255..2**255-1
``int64``     ``int64`` (``Int64`` if null)    small integers: blocks, decimals, ticks, bps
``float64``   ``float64``                      derived floats (prices); NaN when unknown
============  ==============================  ===========================================

Addresses are stored lowercase: joins between tables must be exact string matches, and
the EIP-55 checksum is a display concern. Every table starts with ``block``, the block
the row was read at. A read that failed is a row in ``missing``, never a zero.
"""

from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "KEYS",
    "KINDS",
    "SCHEMA",
    "Column",
    "OracleKind",
    "TokenKind",
    "Venue",
    "schema_markdown",
]

KINDS = ("address", "text", "enum", "uint256", "int256", "int64", "float64")


class TokenKind(StrEnum):
    """What a token is, for the graph: a base asset or a receipt of something."""

    BASE = "base"
    VAULT_SHARE = "vault_share"
    LENDING_RECEIPT = "lending_receipt"
    DEBT = "debt"
    LP = "lp"
    PT = "pt"


class OracleKind(StrEnum):
    """How a market's oracle prices collateral; decides whether a depeg liquidates."""

    MARKET = "market"
    EXCHANGE_RATE = "exchange_rate"
    FIXED = "fixed"
    UNKNOWN = "unknown"


class Venue(StrEnum):
    """Liquidity venues whose price-impact maths the solver implements."""

    UNISWAP_V3 = "uniswap_v3"
    CURVE = "curve"


class Column(NamedTuple):
    """One column: name, kind (see ``KINDS``), description, nullability, enum values."""

    name: str
    kind: str
    description: str
    nullable: bool = False
    allowed: tuple[str, ...] = ()


def _col(name: str, kind: str, description: str, *, null: bool = False) -> Column:
    return Column(name, kind, description, null)


def _enum(name: str, values: type[StrEnum], description: str) -> Column:
    return Column(name, "enum", description, False, tuple(v.value for v in values))


_BLOCK = _col("block", "int64", "Block number the row was read at.")
_PROTOCOL = _col("protocol", "text", "Protocol name: morpho_blue, aave_v3, spark, ...")
_PROTOCOL_ADDRESS = _col(
    "protocol_address", "address", "Contract the market lives in (Morpho singleton, Aave Pool)."
)
_MARKET_ID = _col(
    "market_id",
    "text",
    "Market key inside protocol_address: Morpho Blue's bytes32 id as 0x-hex; "
    "for pooled protocols (Aave v3, Spark) the reserve asset's address.",
)

SCHEMA: dict[str, tuple[Column, ...]] = {
    "tokens": (
        _BLOCK,
        _col("address", "address", "Token contract."),
        _col("symbol", "text", "symbol() as read; null if unreadable.", null=True),
        _col("name", "text", "name() as read; null if unreadable.", null=True),
        _col("decimals", "int64", "decimals()."),
        _enum("kind", TokenKind, "base, vault_share, lending_receipt, debt, lp or pt."),
        _col("price", "float64", "Price in the snapshot's numeraire; NaN if unknown.", null=True),
        _col("price_source", "text", "Where price came from (oracle address, pool, ...).", null=True),
    ),
    "vaults": (
        _BLOCK,
        _col("vault", "address", "Vault contract (anything that mints a receipt for deposits)."),
        _col("share_token", "address", "Receipt token it mints (the vault itself for ERC-4626)."),
        _col("asset", "address", "Underlying asset deposits are made in."),
        _col("kind", "text", "Vault standard: erc4626, metamorpho, ..."),
        _col("total_assets", "uint256", "Reported total assets, in asset units."),
        _col("total_supply", "uint256", "Share token total supply, in share units."),
        _col("visible_assets", "uint256", "Assets seen on chain in holdings, in asset units."),
        _col(
            "opaque_assets",
            "int256",
            "total_assets - visible_assets: backing that cannot be seen on chain "
            "(negative when more is visible than reported).",
        ),
    ),
    "vault_markets": (
        _BLOCK,
        _col("vault", "address", "Curator vault (MetaMorpho)."),
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("cap", "uint256", "Most the vault may supply to the market, in asset units."),
        _col("enabled", "int64", "1 if the market is in the withdraw queue, else 0."),
        _col("supply_queue_index", "int64", "Place in the supply queue (deposits fill in order); null if absent.", null=True),
        _col("withdraw_queue_index", "int64", "Place in the withdraw queue; null if absent.", null=True),
    ),
    "holdings": (
        _BLOCK,
        _col("vault", "address", "Vault the holding backs."),
        _col("holder", "address", "Account holding it: the vault or one of its strategy accounts."),
        _col("token", "address", "Token the amount is denominated in."),
        _col("protocol", "text", "Protocol of the market position; null for a plain balance.", null=True),
        _col("protocol_address", "address", "Market's protocol contract; null for a balance.", null=True),
        _col("market_id", "text", "Market supplied to; null for a plain token balance.", null=True),
        _col("amount", "uint256", "Amount held, in token units (market supply as assets)."),
        _col("read_method", "text", "How it was read: balanceOf, morpho.position, ..."),
    ),
    "markets": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("loan_token", "address", "Token lent and borrowed."),
        _col("collateral_token", "address", "Token posted as collateral (zero address if none)."),
        _col("lltv_wad", "uint256", "Morpho liquidation LTV, 1e18 = 100%.", null=True),
        _col("ltv_bps", "int64", "Aave-style max LTV, 10000 = 100%.", null=True),
        _col(
            "liquidation_threshold_bps", "int64", "Aave-style liquidation threshold, 10000 = 100%.", null=True
        ),
        _col(
            "liquidation_bonus_bps",
            "int64",
            "Aave-style liquidation bonus as stored: 10500 = 5% bonus.",
            null=True,
        ),
        _col("oracle", "address", "Oracle contract; null if the market has none.", null=True),
        _enum("oracle_kind", OracleKind, "market, exchange_rate, fixed or unknown."),
        _col("oracle_price_raw", "uint256", "Oracle answer as returned, unscaled.", null=True),
        _col(
            "oracle_price_scale",
            "uint256",
            "Divide oracle_price_raw by this (Morpho: 1e36 adjusted by decimals; Aave: base unit).",
            null=True,
        ),
        _col("irm", "address", "Interest rate model contract.", null=True),
        _col("total_supply_assets", "uint256", "Total supplied, in loan token units."),
        _col("total_supply_shares", "uint256", "Total supply shares (Morpho).", null=True),
        _col("total_borrow_assets", "uint256", "Total borrowed, in loan token units."),
        _col("total_borrow_shares", "uint256", "Total borrow shares (Morpho).", null=True),
        _col("last_update", "int64", "Timestamp interest was last accrued (unix seconds).", null=True),
        _col("fee_wad", "uint256", "Morpho protocol fee, 1e18 = 100%.", null=True),
        _col("reserve_factor_bps", "int64", "Aave-style reserve factor, 10000 = 100%.", null=True),
        _col("emode_category", "int64", "Aave e-mode category of the reserve (0: none).", null=True),
        _col(
            "protocol_revision",
            "int64",
            "Revision of the protocol's code (Aave Pool.POOL_REVISION), which selects its liquidation rules.",
            null=True,
        ),
        _col("borrow_factor_wad", "uint256", "Compound v3 borrowCollateralFactor, 1e18 = 100% (lltv_wad holds liquidateCollateralFactor).", null=True),
        _col("liquidation_factor_wad", "uint256", "Compound v3 liquidationFactor: share of a collateral's value credited when absorbed, 1e18 = 100%.", null=True),
        _col("supply_cap", "uint256", "Compound v3 supply cap of the collateral, in its token units.", null=True),
        _col("store_front_price_factor_wad", "uint256", "Compound v3 storeFrontPriceFactor (base market row), 1e18 = 100%.", null=True),
        _col("target_reserves", "uint256", "Compound v3 targetReserves (base market row): collateral is sold only below it.", null=True),
        _col("reserves", "int256", "Compound v3 getReserves() at the pin (base market row): where absorbed losses land; negative once they exceed it.", null=True),
    ),
    "positions": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("account", "address", "Position owner."),
        _col("collateral_token", "address", "Token counted as collateral."),
        _col(
            "collateral_amount",
            "uint256",
            "Collateral counted for health, in collateral token units "
            "(Aave: the aToken balance if enabled as collateral, else 0).",
        ),
        _col("debt_amount", "uint256", "Debt including accrued interest, in loan token units."),
        _col("debt_shares", "uint256", "Borrow shares (Morpho).", null=True),
        _col("supply_amount", "uint256", "Amount lent, in loan token units."),
        _col("supply_shares", "uint256", "Supply shares (Morpho).", null=True),
    ),
    "accounts": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _col("account", "address", "Account with positions in the protocol."),
        _col("emode_category", "int64", "Aave e-mode category the account is in (0: none)."),
    ),
    "emode_categories": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _col("category", "int64", "E-mode category id (1..255)."),
        _col("ltv_bps", "int64", "Max LTV inside the category, 10000 = 100%."),
        _col("liquidation_threshold_bps", "int64", "Liquidation threshold inside the category."),
        _col("liquidation_bonus_bps", "int64", "Liquidation bonus as stored: 10100 = 1% bonus."),
        _col("price_source", "address", "Category price source overriding the assets' own; null if none.", null=True),
        _col("label", "text", "Category label as read.", null=True),
    ),
    "pools": (
        _BLOCK,
        _enum("venue", Venue, "uniswap_v3 or curve."),
        _col("pool", "address", "Pool contract."),
        _col("token0", "address", "Coin 0 (Uniswap token0)."),
        _col("token1", "address", "Coin 1 (Uniswap token1)."),
        _col("fee_raw", "int64", "Swap fee as stored (Uniswap pips, Curve 1e10 scale)."),
        _col("fee_scale", "int64", "Divide fee_raw by this: 1e6 for Uniswap v3, 1e10 for Curve."),
        _col("sqrt_price_x96", "uint256", "Uniswap v3 slot0 sqrtPriceX96.", null=True),
        _col("tick", "int64", "Uniswap v3 current tick.", null=True),
        _col("liquidity", "uint256", "Uniswap v3 in-range liquidity.", null=True),
        _col("tick_spacing", "int64", "Uniswap v3 tick spacing.", null=True),
        _col("amp", "uint256", "Curve amplification A as returned by A().", null=True),
        _col("n_coins", "int64", "Number of coins (2 for Uniswap); balances in pool_coins."),
        _col("pool_kind", "text", "Curve: ng (stableswap-NG), classic (template maths), other (a dynamic fee without stored_rates: not modelled).", null=True),
        _col("amp_precise", "uint256", "Curve A · 100 at the pinned block's timestamp, the ramp interpolated as the pool's _A() does.", null=True),
        _col("future_amp", "uint256", "Curve A · 100 the ramp ends at (future_A, scaled to A · 100).", null=True),
        _col("future_amp_time", "int64", "Curve timestamp the ramp of A ends at (future_A_time; 0: never ramped).", null=True),
        _col("offpeg_fee_multiplier", "uint256", "Curve off-peg fee multiplier, 1e10 scale (NG and dynamic-fee pools).", null=True),
        _col("admin_fee", "int64", "Curve admin_fee(): the admin's share of each swap fee, 1e10 scale (taken out of the pool's balance).", null=True),
    ),
    "pool_coins": (
        _BLOCK,
        _col("pool", "address", "Pool contract."),
        _col("coin_index", "int64", "Coin index in the pool (Uniswap: 0 = token0)."),
        _col("token", "address", "Coin token."),
        _col("balance", "uint256", "Pool's balance of the coin, in token units."),
        _col("rate", "uint256", "Curve stored_rates() where the pool answers it (NG, classic factory pools with oracles): 10**(36 - decimals) times the coin's oracle or ERC-4626 rate; null: the template's constant 10**(36 - decimals).", null=True),
    ),
    "ticks": (
        _BLOCK,
        _col("pool", "address", "Uniswap v3 pool."),
        _col("tick", "int64", "Initialized tick."),
        _col("liquidity_net", "int256", "Liquidity added (negative: removed) crossing the tick upward."),
        _col("liquidity_gross", "uint256", "Total liquidity referencing the tick."),
    ),
    "missing": (
        _BLOCK,
        _col("kind", "text", "What could not be read: token, vault, market, position, pool, ..."),
        _col("address", "address", "Contract the read targeted.", null=True),
        _col("key", "text", "Further key (market id, account, tick, ...).", null=True),
        _col("method", "text", "Call or step that failed."),
        _col("reason", "text", "Why, as reported (revert reason, RPC error, ...)."),
    ),
}

KEYS: dict[str, tuple[str, ...]] = {
    "tokens": ("address",),
    "vaults": ("vault",),
    "vault_markets": ("vault", "protocol_address", "market_id"),
    "holdings": ("vault", "holder", "token", "protocol_address", "market_id"),
    "markets": ("protocol_address", "market_id"),
    "positions": ("protocol_address", "market_id", "account"),
    "accounts": ("protocol_address", "account"),
    "emode_categories": ("protocol_address", "category"),
    "pools": ("pool",),
    "pool_coins": ("pool", "coin_index"),
    "ticks": ("pool", "tick"),
    "missing": (),
}
"""Columns that identify a row; duplicates are a schema error (they would double count)."""


def _type_label(column: Column) -> str:
    if column.kind == "enum":
        return "enum: " + ", ".join(column.allowed)
    if column.kind in ("uint256", "int256"):
        return f"{column.kind} (decimal string on disk)"
    return column.kind


def schema_markdown() -> str:
    """Every table's columns as one markdown table, for the README.

    >>> schema_markdown().splitlines()[2].startswith("| tokens | block |")
    True
    """
    lines = [
        "| table | column | type | nullable | description |",
        "|---|---|---|---|---|",
    ]
    for table, columns in SCHEMA.items():
        for column in columns:
            description = column.description.replace("|", "\\|")
            nullable = "yes" if column.nullable else ""
            lines.append(f"| {table} | {column.name} | {_type_label(column)} | {nullable} | {description} |")
    return "\n".join(lines) + "\n"

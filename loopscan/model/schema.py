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
    "PriceQuote",
    "TokenKind",
    "ZERO_ADDRESS",
    "schema_markdown",
]

KINDS = ("address", "text", "enum", "uint256", "int256", "int64", "float64")

ZERO_ADDRESS = "0x" + "00" * 20
"""The zero address as the snapshot stores addresses: a contract's "none" (no oracle, no IRM, USD)."""


class TokenKind(StrEnum):
    """What a token is, for the graph: a base asset or a receipt of something."""

    BASE = "base"
    VAULT_SHARE = "vault_share"
    LENDING_RECEIPT = "lending_receipt"
    DEBT = "debt"
    LP = "lp"
    PT = "pt"


class PriceQuote(StrEnum):
    """What an oracle answer is a price in: the market's loan token, or the numeraire."""

    LOAN = "loan"
    NUMERAIRE = "numeraire"


class OracleKind(StrEnum):
    """How a market's oracle prices collateral; decides whether a depeg liquidates."""

    MARKET = "market"
    EXCHANGE_RATE = "exchange_rate"
    FIXED = "fixed"
    UNKNOWN = "unknown"
    LINEAR_DISCOUNT = "linear_discount"  # a PT at 1 − discount × time left: moves with time only
    AMM_TWAP = "amm_twap"  # a PT at its AMM's time-weighted implied rate: follows the market a window late


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
_ORACLE = (
    _col("oracle", "address", "Oracle contract; null if none.", null=True),
    _enum("oracle_kind", OracleKind, "market, exchange_rate, fixed, unknown, or for a Pendle PT linear_discount (time only) or amm_twap "
          "(the PT's AMM, a window late): whether a market depeg moves it."),
    _col("oracle_price_raw", "uint256", "Oracle answer as returned, unscaled; null if unread.", null=True),
    _col("oracle_price_scale", "uint256", "Divide oracle_price_raw by this to get the price in price_quote units per whole token "
         "(Morpho: 1e36 adjusted by decimals; Aave: the base currency unit).", null=True),
)
_WAD_FRACTION = "1e18 = 100 %, exact (Aave's bps × 1e14, Morpho's WAD as stored)"

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
        _col("loan_oracle", "address", "Where the protocol prices the loan token in the numeraire "
             "(pooled and multi-collateral protocols); null where it does not (Morpho).", null=True),
        _col("loan_oracle_kind", "text", "Kind of loan_oracle (as oracle_kind); null with it.", null=True),
        _col("loan_price_raw", "uint256", "loan_oracle's answer, unscaled; null if none or unread.", null=True),
        _col("loan_price_scale", "uint256", "Divide loan_price_raw by this for numeraire per whole loan token.", null=True),
        _col("irm", "address", "Interest rate model contract.", null=True),
        _col("total_supply_assets", "uint256", "Total supplied, in loan token units."),
        _col("total_borrow_assets", "uint256", "Total borrowed, in loan token units."),
        _col("last_update", "int64", "Timestamp interest was last accrued (unix seconds).", null=True),
    ),
    "market_collaterals": (
        _BLOCK,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("collateral_token", "address", "A token the market accepts as collateral."),
        _col("liquidation_threshold_wad", "uint256", f"Debt over collateral value above which a position is liquidatable; {_WAD_FRACTION}."),
        _col("max_ltv_wad", "uint256", f"Most a position may borrow against it; {_WAD_FRACTION}.", null=True),
        _col("liquidation_incentive_wad", "uint256", f"Collateral seized per unit of debt repaid, at oracle prices (1 + bonus); {_WAD_FRACTION}."),
        *_ORACLE,
        _enum("price_quote", PriceQuote, "oracle_price is in loan tokens (Morpho) or in the numeraire (Aave)."),
    ),
    "market_params": (
        _BLOCK,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("param", "text", "A protocol's own raw field, named by its package (lltv_wad, fee_wad, total_borrow_shares, "
             "ltv_bps, liquidation_bonus_bps, reserve_factor_bps, emode_category, protocol_revision, paused, frozen, "
             "debt_ceiling_cents, underlying_held, ...). A paused reserve is no leg of a liquidation; underlying_held "
             "below supplied − borrowed is a shortfall (docs/methodology.md)."),
        _col("value", "int256", "Its value, as the contract stores it."),
    ),
    "positions": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("account", "address", "Position owner."),
        _col("debt_amount", "uint256", "Debt including accrued interest, in loan token units."),
        _col("debt_shares", "uint256", "Borrow shares (Morpho).", null=True),
        _col("supply_amount", "uint256", "Amount lent, in loan token units."),
        _col("supply_shares", "uint256", "Supply shares (Morpho).", null=True),
    ),
    "position_collaterals": (
        _BLOCK,
        _PROTOCOL,
        _PROTOCOL_ADDRESS,
        _MARKET_ID,
        _col("account", "address", "Position owner."),
        _col("collateral_token", "address", "Token counted as collateral."),
        _col("amount", "uint256", "Collateral counted for health, in collateral token units (Aave: the aToken "
             "balance of a reserve enabled as collateral; a reserve not enabled has no row)."),
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
        _col("venue", "text", "Liquidity venue: a registered venue protocol (Uniswap v3, Curve, ...)."),
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
    "market_collaterals": ("protocol_address", "market_id", "collateral_token"),
    "market_params": ("protocol_address", "market_id", "param"),
    "positions": ("protocol_address", "market_id", "account"),
    "position_collaterals": ("protocol_address", "market_id", "account", "collateral_token"),
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

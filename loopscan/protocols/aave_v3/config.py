"""Aave v3's packed words, decoded: `getReserveData`, the reserve configuration bitmap, the user
configuration bitmap and `getEModeCategoryData`. Pure; the indexer in `aave_v3` reads them.

Bit positions are `ReserveConfiguration.sol`'s and `UserConfiguration.sol`'s from
`@aave/core-v3@1.19.3` (v3.0.x); aave-dao/aave-v3-origin v3.2.0–v3.7.0 keeps every position and
only deprecates some (the e-mode category bits 168–175 from v3.2 on: membership moved to the
categories' collateral bitmaps, see `emode_of_reserve`).

What was verified about `getReserveData` across versions (aave-v3-origin `Pool.getReserveData`
at tags v3.2.0, v3.3.0, v3.4.0, v3.5.0 and HEAD = v3.7.0): every version returns the same
15-word `ReserveDataLegacy`, so the return length cannot tell versions apart. What changed is
the meaning of fields: from v3.2 `currentStableBorrowRate` is 0 and `stableDebtTokenAddress` is
0 (v3.2.0) or a mock answering zeros (`MOCK_STABLE_DEBT`, v3.2.1+) since stable debt is gone;
from v3.4 `unbacked` is 0; from v3.7 `isolationModeTotalDebt` is 0. `decode_reserve_data`
therefore checks the length (15 words) and the indexer tells v3.2+ apart by capability
(`getEModeCategoryCollateralBitmap` answers), which also holds for forks (Spark) whose
`POOL_REVISION` numbering need not follow Aave's.

>>> cfg = decode_reserve_configuration(9000 | 9200 << 16 | 10300 << 32 | 6 << 48 | 1 << 56 | 1 << 168)
>>> (cfg.ltv, cfg.liquidation_threshold, cfg.liquidation_bonus, cfg.decimals, cfg.active, cfg.emode_category)
(9000, 9200, 10300, 6, True, 1)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from loopscan.model import ZERO_ADDRESS
from loopscan.rpc import decode_address, decode_uint

__all__ = [
    "RESERVE_DATA_WORDS", "EModeData", "ReserveConfig", "ReserveData", "decode_emode_category",
    "decode_reserve_configuration", "decode_reserve_data", "decode_string", "emode_of_reserve",
    "is_borrowing", "is_using_as_collateral", "reserve_ids_in_use",
]  # fmt: skip

RESERVE_DATA_WORDS = 15  # DataTypes.ReserveData (v3.0) = ReserveDataLegacy (v3.1–v3.7)


def _bits(data: int, start: int, width: int) -> int:
    return (data >> start) & ((1 << width) - 1)


@dataclass(frozen=True, slots=True)
class ReserveConfig:
    """`ReserveConfigurationMap.data`, field by field (bps where Aave uses bps; bonus as stored:
    10500 = 5 %; caps in whole tokens; `emode_category` deprecated from v3.2)."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    decimals: int
    active: bool
    frozen: bool
    borrowing_enabled: bool
    stable_borrowing_enabled: bool
    paused: bool
    borrowable_in_isolation: bool
    siloed_borrowing: bool
    flashloan_enabled: bool
    reserve_factor: int
    borrow_cap: int
    supply_cap: int
    liquidation_protocol_fee: int
    emode_category: int
    unbacked_mint_cap: int
    debt_ceiling: int


def decode_reserve_configuration(data: int) -> ReserveConfig:
    """The fields of a reserve configuration word (`ReserveConfiguration.get*`, bit positions
    `*_START_BIT_POSITION` of v3.0.x)."""
    return ReserveConfig(
        ltv=_bits(data, 0, 16),  # getLtv
        liquidation_threshold=_bits(data, 16, 16),  # getLiquidationThreshold
        liquidation_bonus=_bits(data, 32, 16),  # getLiquidationBonus
        decimals=_bits(data, 48, 8),  # getDecimals
        active=bool(_bits(data, 56, 1)),  # getActive
        frozen=bool(_bits(data, 57, 1)),  # getFrozen
        borrowing_enabled=bool(_bits(data, 58, 1)),  # getBorrowingEnabled
        stable_borrowing_enabled=bool(_bits(data, 59, 1)),  # getStableRateBorrowingEnabled
        paused=bool(_bits(data, 60, 1)),  # getPaused
        borrowable_in_isolation=bool(_bits(data, 61, 1)),  # getBorrowableInIsolation
        siloed_borrowing=bool(_bits(data, 62, 1)),  # getSiloedBorrowing
        flashloan_enabled=bool(_bits(data, 63, 1)),  # getFlashLoanEnabled
        reserve_factor=_bits(data, 64, 16),  # getReserveFactor
        borrow_cap=_bits(data, 80, 36),  # getBorrowCap
        supply_cap=_bits(data, 116, 36),  # getSupplyCap
        liquidation_protocol_fee=_bits(data, 152, 16),  # getLiquidationProtocolFee
        emode_category=_bits(data, 168, 8),  # getEModeCategory
        unbacked_mint_cap=_bits(data, 176, 36),  # getUnbackedMintCap
        debt_ceiling=_bits(data, 212, 40),  # getDebtCeiling
    )


@dataclass(frozen=True, slots=True)
class ReserveData:
    """What the indexer keeps of `Pool.getReserveData(asset)` (indexes and rates in rays)."""

    configuration: ReserveConfig
    liquidity_index: int
    current_liquidity_rate: int
    variable_borrow_index: int
    current_variable_borrow_rate: int
    last_update_timestamp: int
    id: int
    a_token: str
    stable_debt_token: str | None  # None: zero address (v3.2.0 on)
    variable_debt_token: str
    interest_rate_strategy: str | None


def decode_reserve_data(data: bytes) -> ReserveData:
    """`getReserveData`'s 15 static words (same layout v3.0–v3.7, see the module docstring);
    `ValueError` if the answer is not that long."""
    if len(data) != 32 * RESERVE_DATA_WORDS:
        raise ValueError(f"getReserveData returned {len(data)} bytes, expected {32 * RESERVE_DATA_WORDS}")
    stable, strategy = decode_address(data, 9), decode_address(data, 11)
    return ReserveData(
        configuration=decode_reserve_configuration(decode_uint(data, 0)),
        liquidity_index=decode_uint(data, 1),
        current_liquidity_rate=decode_uint(data, 2),
        variable_borrow_index=decode_uint(data, 3),
        current_variable_borrow_rate=decode_uint(data, 4),
        last_update_timestamp=decode_uint(data, 6),
        id=decode_uint(data, 7),
        a_token=decode_address(data, 8),
        stable_debt_token=None if stable == ZERO_ADDRESS else stable,
        variable_debt_token=decode_address(data, 10),
        interest_rate_strategy=None if strategy == ZERO_ADDRESS else strategy,
    )


# -- UserConfiguration: two bits per reserve id, borrowing (low) then collateral (high) ---------
def is_borrowing(bitmap: int, reserve_id: int) -> bool:
    """`UserConfiguration.isBorrowing`: bit 2·id."""
    return (bitmap >> (reserve_id << 1)) & 1 == 1


def is_using_as_collateral(bitmap: int, reserve_id: int) -> bool:
    """`UserConfiguration.isUsingAsCollateral`: bit 2·id + 1."""
    return (bitmap >> ((reserve_id << 1) + 1)) & 1 == 1


def reserve_ids_in_use(bitmap: int) -> Iterator[int]:
    """Ids of the reserves a user borrows or uses as collateral, ascending.

    >>> list(reserve_ids_in_use(0b10_00_01))  # borrows id 0, collateral in id 2
    [0, 2]
    """
    reserve_id = 0
    while bitmap:
        if bitmap & 0b11:
            yield reserve_id
        bitmap >>= 2
        reserve_id += 1


# -- e-mode ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EModeData:
    """`getEModeCategoryData(id)`: v3.0 `EModeCategory` / v3.2+ `EModeCategoryLegacy` (same ABI;
    `price_source` always zero from v3.2). `collateral_bitmap` is v3.2+'s
    `getEModeCategoryCollateralBitmap(id)` (bit = reserve id); None before v3.2."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    price_source: str | None
    label: str | None
    collateral_bitmap: int | None = None


def decode_emode_category(data: bytes) -> EModeData:
    """Decode `getEModeCategoryData`'s `(uint16,uint16,uint16,address,string)`."""
    ((ltv, lt, bonus, source, label),) = abi_decode(["(uint16,uint16,uint16,address,string)"], data)
    source = source.lower()
    return EModeData(ltv, lt, bonus, None if source == ZERO_ADDRESS else source, label)


def emode_of_reserve(reserve_id: int, config: ReserveConfig, bitmaps: dict[int, int] | None) -> int:
    """The e-mode category a reserve counts in as collateral (0: none).

    v3.0–3.1 (`bitmaps` None): the configuration's own category. v3.2+: a reserve may be
    collateral in several categories; the lowest of the categories read whose collateral bitmap
    has the reserve's bit is returned (the snapshot has one column for it).
    """
    if bitmaps is None:
        return config.emode_category
    return min((c for c, bits in bitmaps.items() if (bits >> reserve_id) & 1), default=0)


def decode_string(data: bytes) -> str | None:
    """An ABI `string` answer (`symbol()`, `description()`), or an old-style `bytes32` one (MKR);
    None if it is neither."""
    if len(data) == 32:
        text = data.rstrip(b"\0")
        try:
            return text.decode("utf-8") if text else None
        except UnicodeDecodeError:
            return None
    try:
        (text,) = abi_decode(["string"], data)
    except (DecodingError, OverflowError, ValueError):
        return None
    return text

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @dev Morpho Blue's `MarketParams`, field for field.
struct SeedMarketParams {
    address loanToken;
    address collateralToken;
    address oracle;
    address irm;
    uint256 lltv;
}

/// @dev The Morpho Blue entry points the seeder uses (same selectors as `IMorpho`).
interface ISeedMorpho {
    function supply(SeedMarketParams memory marketParams, uint256 assets, uint256 shares, address onBehalf, bytes memory data)
        external
        returns (uint256, uint256);
    function supplyCollateral(SeedMarketParams memory marketParams, uint256 assets, address onBehalf, bytes memory data)
        external;
    function borrow(SeedMarketParams memory marketParams, uint256 assets, uint256 shares, address onBehalf, address receiver)
        external
        returns (uint256, uint256);
}

/// @dev The Aave v3 Pool entry points the seeder uses (same selectors as `IPool`).
interface ISeedAavePool {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf)
        external;
}

/// @notice One borrowing account, deployed by `PositionSeeder` as an EIP-1167 minimal proxy.
/// @dev Morpho's `borrow` and Aave's `borrow` must come from the account itself (no
/// authorization or credit delegation is set up), so each borrower is a contract the seeder
/// drives. `SEEDER` is an immutable of the implementation: every clone runs that code through
/// `delegatecall`, so every clone answers only to the seeder that deployed the implementation.
contract PositionAccount {
    address public immutable SEEDER;

    error OnlySeeder();

    constructor() {
        SEEDER = msg.sender;
    }

    modifier onlySeeder() {
        if (msg.sender != SEEDER) revert OnlySeeder();
        _;
    }

    /// @notice Borrow `assets` on Morpho Blue against this account's collateral; the loan goes to the seeder.
    function morphoBorrow(ISeedMorpho morpho, SeedMarketParams calldata marketParams, uint256 assets) external onlySeeder {
        morpho.borrow(marketParams, assets, 0, address(this), SEEDER);
    }

    /// @notice Borrow `amount` of `asset` (variable rate) on Aave v3; the loan goes to the seeder.
    function aaveBorrow(ISeedAavePool pool, address asset, uint256 amount) external onlySeeder {
        pool.borrow(asset, amount, 2, 0, address(this));
        IERC20(asset).transfer(SEEDER, amount);
    }
}

/// @notice Opens many real Morpho Blue and Aave v3 positions per transaction, for the benchmarks.
/// @dev The seeder holds the tokens (minted to it by the devnet's deployer) and approves both
/// protocols once. Positions are opened through the protocols' own entry points:
/// - borrowers: a fresh `PositionAccount` clone; the seeder supplies collateral on its behalf
///   (Morpho `supplyCollateral` / Aave `supply` take any `onBehalf`), then the clone borrows for
///   itself and hands the loan to the seeder;
/// - collateral-only and supply-only positions: `onBehalf` a fresh address with no code,
///   `address(keccak256(seeder, n))`.
/// Every position opened is announced by `Opened(account)`.
contract PositionSeeder {
    address public immutable OWNER;
    ISeedMorpho public immutable MORPHO;
    ISeedAavePool public immutable POOL;
    address public immutable ACCOUNT_IMPLEMENTATION;
    uint256 public passiveAccounts;

    event Opened(address indexed account);

    error OnlyOwner();
    error LengthMismatch();

    constructor(ISeedMorpho morpho, ISeedAavePool pool, address[] memory tokens) {
        OWNER = msg.sender;
        MORPHO = morpho;
        POOL = pool;
        ACCOUNT_IMPLEMENTATION = address(new PositionAccount());
        for (uint256 i; i < tokens.length; ++i) {
            IERC20(tokens[i]).approve(address(morpho), type(uint256).max);
            IERC20(tokens[i]).approve(address(pool), type(uint256).max);
        }
    }

    modifier onlyOwner() {
        if (msg.sender != OWNER) revert OnlyOwner();
        _;
    }

    /// @notice One Morpho Blue position per index: `borrowed[i] > 0` makes a borrower (a clone
    /// with `collateral[i]` posted), else a fresh address gets `collateral[i]` of collateral
    /// and/or `supplied[i]` of the loan token supplied.
    function openMorpho(
        SeedMarketParams calldata marketParams,
        uint256[] calldata collateral,
        uint256[] calldata borrowed,
        uint256[] calldata supplied
    ) external onlyOwner {
        uint256 n = collateral.length;
        if (borrowed.length != n || supplied.length != n) revert LengthMismatch();
        SeedMarketParams memory params = marketParams;
        uint256 passive = passiveAccounts;
        for (uint256 i; i < n; ++i) {
            address account;
            if (borrowed[i] > 0) {
                account = Clones.clone(ACCOUNT_IMPLEMENTATION);
                MORPHO.supplyCollateral(params, collateral[i], account, "");
                PositionAccount(account).morphoBorrow(MORPHO, marketParams, borrowed[i]);
            } else {
                account = _passive(passive++);
                if (collateral[i] > 0) MORPHO.supplyCollateral(params, collateral[i], account, "");
                if (supplied[i] > 0) MORPHO.supply(params, supplied[i], 0, account, "");
            }
            if (supplied[i] > 0 && borrowed[i] > 0) MORPHO.supply(params, supplied[i], 0, account, "");
            emit Opened(account);
        }
        passiveAccounts = passive;
    }

    /// @notice One Aave v3 account per index: `amounts[i]` of `asset` supplied on its behalf
    /// (collateral by Aave's default); `borrowed[i] > 0` makes it a clone that then borrows
    /// `borrowed[i]` of `debtAsset`.
    function openAave(address asset, address debtAsset, uint256[] calldata amounts, uint256[] calldata borrowed)
        external
        onlyOwner
    {
        uint256 n = amounts.length;
        if (borrowed.length != n) revert LengthMismatch();
        uint256 passive = passiveAccounts;
        for (uint256 i; i < n; ++i) {
            address account = borrowed[i] > 0 ? Clones.clone(ACCOUNT_IMPLEMENTATION) : _passive(passive++);
            POOL.supply(asset, amounts[i], account, 0);
            if (borrowed[i] > 0) PositionAccount(account).aaveBorrow(POOL, debtAsset, borrowed[i]);
            emit Opened(account);
        }
        passiveAccounts = passive;
    }

    function _passive(uint256 n) internal view returns (address) {
        return address(uint160(uint256(keccak256(abi.encode(address(this), n)))));
    }
}

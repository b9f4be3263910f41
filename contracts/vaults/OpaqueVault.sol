// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";

/// @notice A yield vault whose assets are mostly managed off chain (Stream Finance's xUSD).
/// @dev `totalAssets` = the asset held here + `offchainAssets`, a figure only the manager
/// reports. Deposits moved to the strategy leave the chain's view; their value is whatever the
/// manager says. A write-down (`reportOffchainAssets` lower) moves the share price, and so every
/// exchange-rate oracle reading it, with no market trade at all.
contract OpaqueVault is ERC4626 {
    using SafeERC20 for IERC20;

    address public immutable manager;
    address public strategy;
    uint256 public offchainAssets;

    event StrategyFunded(address indexed strategy, uint256 assets);
    event OffchainAssetsReported(uint256 previous, uint256 current);

    error NotManager();

    constructor(IERC20 asset_, string memory name_, string memory symbol_, address manager_, address strategy_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {
        manager = manager_;
        strategy = strategy_;
    }

    modifier onlyManager() {
        if (msg.sender != manager) revert NotManager();
        _;
    }

    function totalAssets() public view override returns (uint256) {
        return IERC20(asset()).balanceOf(address(this)) + offchainAssets;
    }

    /// @notice Send idle assets to the off-chain strategy; the book value is unchanged.
    function fundStrategy(uint256 assets) external onlyManager {
        offchainAssets += assets;
        IERC20(asset()).safeTransfer(strategy, assets);
        emit StrategyFunded(strategy, assets);
    }

    /// @notice The manager's mark of the off-chain book: a gain, or a write-down.
    function reportOffchainAssets(uint256 assets) external onlyManager {
        emit OffchainAssetsReported(offchainAssets, assets);
        offchainAssets = assets;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

interface ILatestAnswer {
    function latestAnswer() external view returns (int256);
    function decimals() external view returns (uint8);
}

/// @notice A Chainlink-style feed for a vault share: the vault's exchange rate times the price
/// of its asset (how Aave prices sUSDe: by its book value, not by any market).
/// @dev A market depeg of the share does not move this feed; only the vault's own accounting
/// or the asset's feed does.
contract ExchangeRateFeed {
    IERC4626 public immutable vault;
    ILatestAnswer public immutable assetFeed;
    uint8 public immutable decimals;
    uint256 private immutable _oneShare;
    uint256 private immutable _oneAsset;

    constructor(IERC4626 vault_, ILatestAnswer assetFeed_) {
        vault = vault_;
        assetFeed = assetFeed_;
        decimals = assetFeed_.decimals();
        _oneShare = 10 ** IERC20Metadata(address(vault_)).decimals();
        _oneAsset = 10 ** IERC20Metadata(vault_.asset()).decimals();
    }

    function latestAnswer() public view returns (int256) {
        uint256 rate = vault.convertToAssets(_oneShare);
        return int256(rate * uint256(assetFeed.latestAnswer()) / _oneAsset);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (1, latestAnswer(), block.timestamp, block.timestamp, 1);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IPtFeed {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
}

interface IAssetFeed {
    function latestAnswer() external view returns (int256);
    function decimals() external view returns (uint8);
}

/// @notice A PT's price in USD for Aave: a Pendle PT feed (the PT in its asset, 18 decimals:
/// Pendle's `PendleSparkLinearDiscountOracle` or `PendleChainlinkOracle`) times the asset's USD
/// feed. Aave prices PT-sUSDe so, with the USDT/USD feed for USDe (bgd-labs/aave-capo,
/// `PendlePriceCapAdapter`: the asset's price × (1 − linear discount)); that adapter is not
/// published in any package, so this one is ours, over Pendle's own discount feed.
/// @dev Moves only with the PT feed and the asset feed: a sale of PT into its market moves neither
/// of a linear discount.
contract LoopscanPtUsdFeed {
    IPtFeed public immutable PT_FEED;
    IAssetFeed public immutable ASSET_FEED;
    uint8 public immutable decimals;

    error NegativeAnswer();

    constructor(IPtFeed ptFeed, IAssetFeed assetFeed) {
        PT_FEED = ptFeed;
        ASSET_FEED = assetFeed;
        decimals = assetFeed.decimals();
    }

    function latestAnswer() public view returns (int256) {
        (, int256 pt,,,) = PT_FEED.latestRoundData();
        int256 asset = ASSET_FEED.latestAnswer();
        if (pt < 0 || asset < 0) revert NegativeAnswer();
        return asset * pt / 1e18;
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return (0, latestAnswer(), 0, block.timestamp, 0);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {IOracle} from "@morpho-org/morpho-blue/src/interfaces/IOracle.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

interface IFeed {
    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80);
    function decimals() external view returns (uint8);
}

/// @notice A Morpho Blue oracle with the public interface of MorphoChainlinkOracleV2 (vaults
/// and up to two feeds on each side), so the devnet's markets are classified by loopscan the
/// same way mainnet's are.
/// @dev price = SCALE_FACTOR · baseVaultRate · baseFeed1 · baseFeed2 / (quoteVaultRate · quoteFeed1 · quoteFeed2),
/// in Morpho's scale of 1e36 · loan-token units per collateral-token unit. With only a base
/// vault it is an exchange-rate (book value) oracle; with feeds, a market-price oracle; with
/// neither, a fixed price. Unset vaults and feeds count as 1.
contract MorphoFeedOracle is IOracle {
    IERC4626 public immutable BASE_VAULT;
    uint256 public immutable BASE_VAULT_CONVERSION_SAMPLE;
    IERC4626 public immutable QUOTE_VAULT;
    uint256 public immutable QUOTE_VAULT_CONVERSION_SAMPLE;
    IFeed public immutable BASE_FEED_1;
    IFeed public immutable BASE_FEED_2;
    IFeed public immutable QUOTE_FEED_1;
    IFeed public immutable QUOTE_FEED_2;
    uint256 public immutable SCALE_FACTOR;

    error NegativeAnswer();

    struct Side {
        IERC4626 vault;
        uint256 vaultSample;
        IFeed feed1;
        IFeed feed2;
        uint8 tokenDecimals;
    }

    constructor(Side memory base, Side memory quote) {
        BASE_VAULT = base.vault;
        BASE_VAULT_CONVERSION_SAMPLE = address(base.vault) == address(0) ? 1 : base.vaultSample;
        QUOTE_VAULT = quote.vault;
        QUOTE_VAULT_CONVERSION_SAMPLE = address(quote.vault) == address(0) ? 1 : quote.vaultSample;
        BASE_FEED_1 = base.feed1;
        BASE_FEED_2 = base.feed2;
        QUOTE_FEED_1 = quote.feed1;
        QUOTE_FEED_2 = quote.feed2;
        // Decimals of the base side (collateral) divide, those of the quote side (loan) multiply.
        uint256 up = 36 + quote.tokenDecimals + _decimals(quote.feed1) + _decimals(quote.feed2);
        uint256 down = base.tokenDecimals + _decimals(base.feed1) + _decimals(base.feed2);
        SCALE_FACTOR = 10 ** (up - down) * QUOTE_VAULT_CONVERSION_SAMPLE / BASE_VAULT_CONVERSION_SAMPLE;
    }

    function price() external view returns (uint256) {
        return SCALE_FACTOR * _rate(BASE_VAULT, BASE_VAULT_CONVERSION_SAMPLE) * _answer(BASE_FEED_1)
            * _answer(BASE_FEED_2)
            / (_rate(QUOTE_VAULT, QUOTE_VAULT_CONVERSION_SAMPLE) * _answer(QUOTE_FEED_1) * _answer(QUOTE_FEED_2));
    }

    function _rate(IERC4626 vault, uint256 sample) private view returns (uint256) {
        return address(vault) == address(0) ? 1 : vault.convertToAssets(sample);
    }

    function _answer(IFeed feed) private view returns (uint256) {
        if (address(feed) == address(0)) return 1;
        (, int256 answer,,,) = feed.latestRoundData();
        if (answer < 0) revert NegativeAnswer();
        return uint256(answer);
    }

    function _decimals(IFeed feed) private view returns (uint256) {
        return address(feed) == address(0) ? 0 : feed.decimals();
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";

/// @notice A staked receipt (sUSDe, sdeUSD): OpenZeppelin's ERC-4626 with nothing added.
/// @dev Yield arrives as plain transfers of the asset into the vault, which raises the share
/// price exactly as staking rewards do on mainnet. All backing is visible on chain.
contract YieldVault is ERC4626 {
    constructor(IERC20 asset_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC4626(asset_)
    {}
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IStandardizedYield} from "@pendle/core-v2/contracts/interfaces/IStandardizedYield.sol";
// Pendle's `*Upg` factories disable their initializers in the constructor: the devnet puts each
// behind this proxy. Imported here only so that the build emits its artifact.
import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @notice Ours, not Pendle's: a Standardized Yield token over one ERC-4626 vault (the scenario's
/// sUSDe), written against the `IStandardizedYield` of Pendle's core-v2 package because the package ships no SY
/// implementation. One SY share is one vault share; `exchangeRate` is the vault's assets per share,
/// as Pendle's own ERC-4626 adapters report it (asset type TOKEN, the vault's asset). No rewards.
contract LoopscanERC4626SY is ERC20, IStandardizedYield {
    using SafeERC20 for IERC20;

    IERC4626 public immutable vault;
    IERC20 public immutable asset;

    error SYInvalidToken(address token);
    error SYInsufficientOut(uint256 actual, uint256 required);
    error SYNoEther();

    constructor(string memory name_, string memory symbol_, IERC4626 vault_) ERC20(name_, symbol_) {
        vault = vault_;
        asset = IERC20(vault_.asset());
        asset.forceApprove(address(vault_), type(uint256).max);
    }

    function decimals() public view override(ERC20, IERC20Metadata) returns (uint8) {
        return vault.decimals();
    }

    function deposit(address receiver, address tokenIn, uint256 amountTokenToDeposit, uint256 minSharesOut)
        external
        payable
        returns (uint256 amountSharesOut)
    {
        if (msg.value != 0) revert SYNoEther();
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountTokenToDeposit);
        if (tokenIn == address(vault)) {
            amountSharesOut = amountTokenToDeposit;
        } else if (tokenIn == address(asset)) {
            amountSharesOut = vault.deposit(amountTokenToDeposit, address(this));
        } else {
            revert SYInvalidToken(tokenIn);
        }
        if (amountSharesOut < minSharesOut) revert SYInsufficientOut(amountSharesOut, minSharesOut);
        _mint(receiver, amountSharesOut);
        emit Deposit(msg.sender, receiver, tokenIn, amountTokenToDeposit, amountSharesOut);
    }

    /// @dev `burnFromInternalBalance`: the shares were sent to this contract first (Pendle's
    /// router and YT redeem that way).
    function redeem(
        address receiver,
        uint256 amountSharesToRedeem,
        address tokenOut,
        uint256 minTokenOut,
        bool burnFromInternalBalance
    ) external returns (uint256 amountTokenOut) {
        _burn(burnFromInternalBalance ? address(this) : msg.sender, amountSharesToRedeem);
        if (tokenOut == address(vault)) {
            amountTokenOut = amountSharesToRedeem;
            IERC20(address(vault)).safeTransfer(receiver, amountTokenOut);
        } else if (tokenOut == address(asset)) {
            amountTokenOut = vault.redeem(amountSharesToRedeem, receiver, address(this));
        } else {
            revert SYInvalidToken(tokenOut);
        }
        if (amountTokenOut < minTokenOut) revert SYInsufficientOut(amountTokenOut, minTokenOut);
        emit Redeem(msg.sender, receiver, tokenOut, amountSharesToRedeem, amountTokenOut);
    }

    function exchangeRate() external view returns (uint256) {
        return vault.convertToAssets(1e18);
    }

    function claimRewards(address) external pure returns (uint256[] memory rewardAmounts) {
        return rewardAmounts;
    }

    function accruedRewards(address) external pure returns (uint256[] memory rewardAmounts) {
        return rewardAmounts;
    }

    function rewardIndexesCurrent() external pure returns (uint256[] memory indexes) {
        return indexes;
    }

    function rewardIndexesStored() external pure returns (uint256[] memory indexes) {
        return indexes;
    }

    function getRewardTokens() external pure returns (address[] memory tokens) {
        return tokens;
    }

    function yieldToken() external view returns (address) {
        return address(vault);
    }

    function getTokensIn() public view returns (address[] memory res) {
        res = new address[](2);
        (res[0], res[1]) = (address(asset), address(vault));
    }

    function getTokensOut() external view returns (address[] memory res) {
        return getTokensIn();
    }

    function isValidTokenIn(address token) public view returns (bool) {
        return token == address(asset) || token == address(vault);
    }

    function isValidTokenOut(address token) external view returns (bool) {
        return isValidTokenIn(token);
    }

    function previewDeposit(address tokenIn, uint256 amountTokenToDeposit) external view returns (uint256) {
        if (!isValidTokenIn(tokenIn)) revert SYInvalidToken(tokenIn);
        return tokenIn == address(vault) ? amountTokenToDeposit : vault.previewDeposit(amountTokenToDeposit);
    }

    function previewRedeem(address tokenOut, uint256 amountSharesToRedeem) external view returns (uint256) {
        if (!isValidTokenIn(tokenOut)) revert SYInvalidToken(tokenOut);
        return tokenOut == address(vault) ? amountSharesToRedeem : vault.previewRedeem(amountSharesToRedeem);
    }

    function assetInfo() external view returns (AssetType, address, uint8) {
        return (AssetType.TOKEN, address(asset), IERC20Metadata(address(asset)).decimals());
    }
}

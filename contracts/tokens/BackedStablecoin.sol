// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMorpho, MarketParams, Id} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";

/// @notice A stablecoin minted 1:1 against a reserve token, which counts a lending position as
/// backing (Elixir's deUSD, whose reserves were lent to Stream on Morpho).
/// @dev The manager lends reserves on Morpho Blue as a supplier. Backing = idle reserve +
/// Morpho supply positions; the latter are worth only what the borrowers' collateral is worth.
contract BackedStablecoin is ERC20 {
    using SafeERC20 for IERC20;

    IERC20 public immutable reserve;
    IMorpho public immutable morpho;
    address public immutable manager;
    uint256 private immutable _scale;
    Id[] private _lentMarkets;

    event LentOnMorpho(Id indexed id, uint256 assets, uint256 shares);

    error NotManager();

    constructor(IERC20 reserve_, IMorpho morpho_, string memory name_, string memory symbol_, address manager_)
        ERC20(name_, symbol_)
    {
        reserve = reserve_;
        morpho = morpho_;
        manager = manager_;
        _scale = 10 ** (18 - IERC20Metadata(address(reserve_)).decimals());
    }

    /// @notice Mint stablecoins for `reserveAmount` of the reserve token, 1:1 in value.
    function mint(uint256 reserveAmount, address to) external returns (uint256 minted) {
        reserve.safeTransferFrom(msg.sender, address(this), reserveAmount);
        minted = reserveAmount * _scale;
        _mint(to, minted);
    }

    /// @notice Burn stablecoins for reserve tokens, paid from the idle reserve only.
    function redeem(uint256 amount, address to) external returns (uint256 paid) {
        paid = amount / _scale;
        _burn(msg.sender, amount);
        reserve.safeTransfer(to, paid);
    }

    /// @notice Lend idle reserves on a Morpho Blue market; the position counts as backing.
    function lendOnMorpho(MarketParams calldata params, uint256 assets) external {
        if (msg.sender != manager) revert NotManager();
        reserve.forceApprove(address(morpho), assets);
        (, uint256 shares) = morpho.supply(params, assets, 0, address(this), "");
        Id id = Id.wrap(keccak256(abi.encode(params)));
        bool known;
        for (uint256 i; i < _lentMarkets.length; ++i) {
            if (Id.unwrap(_lentMarkets[i]) == Id.unwrap(id)) known = true;
        }
        if (!known) _lentMarkets.push(id);
        emit LentOnMorpho(id, assets, shares);
    }

    /// @notice The Morpho markets this stablecoin has lent its reserves on.
    function lentMarkets() external view returns (Id[] memory) {
        return _lentMarkets;
    }
}

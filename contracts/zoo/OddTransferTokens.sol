// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ScenarioToken} from "../tokens/ScenarioToken.sol";

/// @notice Tokens whose balances do not move as ERC-20 tooling assumes, as some mainnet tokens
/// (PAXG, STA; stETH, AMPL) do, for loopscan's hostile-state tests.

/// @dev Every transfer between two holders burns 1 % of it: the receiver gets 99 %. Minting and
/// burning by the owner are exact.
contract FeeOnTransferToken is ScenarioToken {
    uint256 public constant FEE_BPS = 100;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ScenarioToken(name_, symbol_, decimals_) {}

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * FEE_BPS / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}

/// @dev Balances are shares times an index the owner moves (`rebase`): every holder's balance,
/// and the total supply, grow or shrink at once without a transfer. Amounts in transfers are
/// balances; shares are rounded down.
contract RebasingToken is ScenarioToken {
    uint256 public constant ONE = 1e18;
    uint256 public index = ONE;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ScenarioToken(name_, symbol_, decimals_) {}

    function rebase(uint256 newIndex) external onlyOwner {
        index = newIndex;
    }

    function balanceOf(address account) public view override returns (uint256) {
        return super.balanceOf(account) * index / ONE;
    }

    function totalSupply() public view override returns (uint256) {
        return super.totalSupply() * index / ONE;
    }

    /// The stored figures are shares: a balance amount becomes shares at the current index.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value * ONE / index);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Tokens whose metadata is legal on mainnet but not what ERC-20 tooling expects, for
/// loopscan's hostile-state tests. Metadata getters only: Morpho Blue never calls a market's
/// collateral token when the market is created, and a scan reads only these getters from it.

/// @dev Like MKR and SAI: `symbol()` and `name()` answer `bytes32`, not `string`.
contract Bytes32MetadataToken {
    bytes32 public immutable symbol;
    bytes32 public immutable name;
    uint8 public immutable decimals;

    constructor(bytes32 symbol_, bytes32 name_, uint8 decimals_) {
        symbol = symbol_;
        name = name_;
        decimals = decimals_;
    }
}

/// @dev No `symbol()` or `name()` at all: calls to them revert (no fallback), as on tokens that
/// predate the optional metadata of ERC-20.
contract NoMetadataToken {
    uint8 public immutable decimals;

    constructor(uint8 decimals_) {
        decimals = decimals_;
    }
}

/// @dev `decimals()` reverts: no amount in this token can be scaled.
contract RevertingDecimalsToken {
    string public constant symbol = "RDEC";
    string public constant name = "Reverting decimals";

    function decimals() external pure returns (uint8) {
        revert("decimals unavailable");
    }
}

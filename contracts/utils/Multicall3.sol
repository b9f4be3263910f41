// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice The read side of Multicall3's interface, ours, placed by the devnet at Multicall3's
/// canonical address (0xcA11bde05977b3631167028862bE2a173976CA11) with `anvil_setCode`, since the
/// canonical deployment is not in any package reachable here.
/// @dev Same selectors and return layouts as Multicall3 for the functions below, so loopscan's
/// reader runs unchanged against mainnet.
contract Multicall3 {
    struct Call {
        address target;
        bytes callData;
    }

    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    error CallFailed(uint256 index);

    function aggregate(Call[] calldata calls) external returns (uint256 blockNumber, bytes[] memory returnData) {
        blockNumber = block.number;
        returnData = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            bool ok;
            (ok, returnData[i]) = calls[i].target.call(calls[i].callData);
            if (!ok) revert CallFailed(i);
        }
    }

    function tryAggregate(bool requireSuccess, Call[] calldata calls) public returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            (results[i].success, results[i].returnData) = calls[i].target.call(calls[i].callData);
            if (requireSuccess && !results[i].success) revert CallFailed(i);
        }
    }

    function aggregate3(Call3[] calldata calls) external returns (Result[] memory results) {
        results = new Result[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            (results[i].success, results[i].returnData) = calls[i].target.call(calls[i].callData);
            if (!calls[i].allowFailure && !results[i].success) revert CallFailed(i);
        }
    }

    function getBlockNumber() external view returns (uint256) {
        return block.number;
    }

    function getBlockHash(uint256 blockNumber) external view returns (bytes32) {
        return blockhash(blockNumber);
    }

    function getCurrentBlockTimestamp() external view returns (uint256) {
        return block.timestamp;
    }

    function getEthBalance(address account) external view returns (uint256) {
        return account.balance;
    }

    function getChainId() external view returns (uint256) {
        return block.chainid;
    }
}

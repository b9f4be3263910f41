// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice A Chainlink-style price feed (AggregatorV3Interface plus the legacy `latestAnswer`
/// that Aave v3's AaveOracle reads) whose answer a keeper sets: the devnet's market price.
/// @dev Each update starts a new round, as a real aggregator's does, so a reader can see
/// whether the feed ever moves.
contract PriceFeed {
    uint8 public immutable decimals;
    string public description;
    uint256 public constant version = 4;
    address public immutable keeper;

    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    error NotKeeper();
    error NoSuchRound();

    constructor(uint8 decimals_, string memory description_, int256 answer, address keeper_) {
        decimals = decimals_;
        description = description_;
        keeper = keeper_;
        _push(answer);
    }

    function setAnswer(int256 answer) external {
        if (msg.sender != keeper) revert NotKeeper();
        _push(answer);
    }

    function _push(int256 answer) private {
        latestRound += 1;
        _rounds[latestRound] = Round(answer, block.timestamp);
        emit AnswerUpdated(answer, latestRound, block.timestamp);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function latestTimestamp() external view returns (uint256) {
        return _rounds[latestRound].updatedAt;
    }

    function getRoundData(uint80 roundId) public view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        if (r.updatedAt == 0) revert NoSuchRound();
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(latestRound);
    }
}

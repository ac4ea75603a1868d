// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleConsumer} from "./IOracleConsumer.sol";

/// @title Sentiment consumer (example)
/// @notice Keeps a sentiment score per asset, asked of the network through the OracleRouter with one template.
interface ISentimentConsumer is IOracleConsumer {
    /// @notice A score as stored.
    struct Score {
        int256 value;
        uint64 updatedAt;
        uint256 requestId;
    }

    /// @notice Emitted when a score is requested.
    event ScoreRequested(bytes32 indexed assetId, uint256 indexed requestId, string asset);
    /// @notice Emitted when a score arrives.
    event ScoreUpdated(bytes32 indexed assetId, uint256 indexed requestId, int256 value);

    /// @notice Thrown when `onOracleResult` is called by anything but the router.
    error OnlyRouter();
    /// @notice Thrown when a result arrives for a request this contract is not waiting for.
    error UnknownRequest(uint256 requestId);

    /// @notice Requests a score for `asset` (its id is `keccak256(bytes(asset))`). Pays `fee` from AI refunded to
    /// this contract earlier and pulls the rest from the caller (approve first).
    function requestScore(string calldata asset, uint256 fee, uint8 k, uint64 deadline)
        external
        returns (uint256 requestId);
    /// @notice The latest score of an asset.
    function scoreOf(bytes32 assetId) external view returns (Score memory);
    /// @notice The template this consumer asks.
    function templateHash() external view returns (bytes32);
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleConsumer} from "./IOracleConsumer.sol";

/// @title Sentiment consumer (example)
/// @notice Keeps a sentiment score per asset, asked of the network through the OracleRouter with one template: once
/// (`requestScore`) or on a schedule (`subscribeScore`, for example daily over a rolling window of dated headlines).
/// @dev This contract is the router's requester, so it keeps the books of who paid: a refund of a request, or the
/// unspent balance of a subscription, goes back to the account that funded it, and only when that account asks
/// (pull). The contract holds no AI between transactions, so nobody can spend what another funder is owed.
interface ISentimentConsumer is IOracleConsumer {
    /// @notice A score as stored.
    struct Score {
        int256 value;
        uint64 updatedAt;
        uint256 requestId;
    }

    /// @notice The schedule of a score subscription (see `IOracleRouter.SubscriptionParams`).
    struct ScoreSchedule {
        bytes32 datasetHash;
        uint32 windowSeconds;
        uint64 start;
        uint32 period;
        uint32 rounds;
        uint8 k;
        uint32 commitWindow;
        uint32 revealWindow;
        uint256 feePerRound;
    }

    /// @notice Emitted when a score is requested.
    event ScoreRequested(bytes32 indexed assetId, uint256 indexed requestId, string asset, address indexed funder);
    /// @notice Emitted when a score subscription is created.
    event ScoreSubscribed(
        bytes32 indexed assetId, uint256 indexed subscriptionId, string asset, address indexed funder
    );
    /// @notice Emitted when a score arrives (and is newer than the stored one).
    event ScoreUpdated(bytes32 indexed assetId, uint256 indexed requestId, int256 value);
    /// @notice Emitted when a funder takes back what its request did not spend.
    event RefundClaimed(uint256 indexed requestId, address indexed funder, uint256 amount);
    /// @notice Emitted when a funder cancels its subscription and takes back its balance.
    event SubscriptionWithdrawn(uint256 indexed subscriptionId, address indexed funder, uint256 amount);

    /// @notice Thrown when `onOracleResult` is called by anything but the router.
    error OnlyRouter();
    /// @notice Thrown when a result arrives for a request this contract is not waiting for.
    error UnknownRequest(uint256 requestId);
    /// @notice Thrown when anyone but the funder of a request or subscription claims its refund or cancels it.
    error NotFunder(uint256 id, address caller);

    /// @notice Requests a score for `asset` (its id is `keccak256(bytes(asset))`), pulling `fee` from the caller
    /// (approve first), who becomes the request's funder.
    function requestScore(string calldata asset, uint256 fee, uint8 k, uint64 commitDeadline, uint64 revealDeadline)
        external
        returns (uint256 requestId);
    /// @notice Subscribes to a score for `asset` on a schedule, pulling `rounds × feePerRound` from the caller (the
    /// funder). Rounds pass `bytes(asset)` as the template's parameters.
    function subscribeScore(string calldata asset, ScoreSchedule calldata schedule)
        external
        returns (uint256 subscriptionId);
    /// @notice Sends the funder what its settled request did not spend. Funder only.
    function claimRefund(uint256 requestId) external returns (uint256 amount);
    /// @notice Cancels the funder's subscription and sends it the balance (again later for refunds of rounds that
    /// were open). Funder only.
    function cancelScoreSubscription(uint256 subscriptionId) external returns (uint256 amount);

    /// @notice The latest score of an asset.
    function scoreOf(bytes32 assetId) external view returns (Score memory);
    /// @notice Who paid for a request made through this contract (zero if none).
    function funderOf(uint256 requestId) external view returns (address);
    /// @notice Who funded a subscription made through this contract (zero if none).
    function subscriptionFunderOf(uint256 subscriptionId) external view returns (address);
    /// @notice The template this consumer asks.
    function templateHash() external view returns (bytes32);
}

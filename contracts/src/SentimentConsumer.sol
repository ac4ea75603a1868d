// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleConsumer} from "./interfaces/IOracleConsumer.sol";
import {IOracleRouter} from "./interfaces/IOracleRouter.sol";
import {ISentimentConsumer} from "./interfaces/ISentimentConsumer.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Sentiment consumer (example)
/// @notice Shows how a contract uses the OracleRouter: ask a sentiment score for an asset once or on a schedule, and
/// receive the median of k node answers in `onOracleResult`. The asset string is the template's input (the headline
/// of the built-in sentiment template), and a score is that template's integer output, unscaled: -100 (very negative)
/// through 0 (neutral) to 100 (very positive). See {ISentimentConsumer}.
contract SentimentConsumer is ISentimentConsumer {
    using SafeERC20 for IERC20;

    /// @notice Callback gas asked for: a lookup of the round, one score write and an event.
    uint32 public constant CALLBACK_GAS = 150_000;

    /// @notice The router asked.
    IOracleRouter public immutable router;
    /// @notice The AI token fees are paid in.
    IERC20 public immutable token;
    /// @inheritdoc ISentimentConsumer
    bytes32 public immutable templateHash;

    mapping(bytes32 assetId => Score) private _scores;
    mapping(uint256 requestId => bytes32 assetId) private _pending;
    mapping(uint256 requestId => address funder) private _funders;
    mapping(uint256 subscriptionId => bytes32 assetId) private _subscriptionAssets;
    mapping(uint256 subscriptionId => address funder) private _subscriptionFunders;

    constructor(IOracleRouter router_, IERC20 token_, bytes32 templateHash_) {
        router = router_;
        token = token_;
        templateHash = templateHash_;
    }

    /// @inheritdoc ISentimentConsumer
    function requestScore(string calldata asset, uint256 fee, uint8 k, uint64 commitDeadline, uint64 revealDeadline)
        external
        returns (uint256 requestId)
    {
        token.safeTransferFrom(msg.sender, address(this), fee);
        token.forceApprove(address(router), fee);
        bytes32 assetId = keccak256(bytes(asset));
        requestId = router.request(templateHash, bytes(asset), fee, k, commitDeadline, revealDeadline, CALLBACK_GAS);
        _pending[requestId] = assetId;
        _funders[requestId] = msg.sender;
        emit ScoreRequested(assetId, requestId, asset, msg.sender);
    }

    /// @inheritdoc ISentimentConsumer
    function subscribeScore(string calldata asset, ScoreSchedule calldata s) external returns (uint256 subscriptionId) {
        uint256 total = s.feePerRound * s.rounds;
        token.safeTransferFrom(msg.sender, address(this), total);
        token.forceApprove(address(router), total);
        subscriptionId = router.createSubscription(
            IOracleRouter.SubscriptionParams({
                templateHash: templateHash,
                datasetHash: s.datasetHash,
                windowSeconds: s.windowSeconds,
                start: s.start,
                period: s.period,
                rounds: s.rounds,
                k: s.k,
                commitWindow: s.commitWindow,
                revealWindow: s.revealWindow,
                callbackGasLimit: CALLBACK_GAS,
                feePerRound: s.feePerRound,
                params: bytes(asset)
            })
        );
        bytes32 assetId = keccak256(bytes(asset));
        _subscriptionAssets[subscriptionId] = assetId;
        _subscriptionFunders[subscriptionId] = msg.sender;
        emit ScoreSubscribed(assetId, subscriptionId, asset, msg.sender);
    }

    /// @inheritdoc ISentimentConsumer
    function claimRefund(uint256 requestId) external returns (uint256 amount) {
        address funder = _funders[requestId];
        if (funder == address(0) || msg.sender != funder) revert NotFunder(requestId, msg.sender);
        amount = router.claimRefund(requestId);
        emit RefundClaimed(requestId, funder, amount);
        token.safeTransfer(funder, amount);
    }

    /// @inheritdoc ISentimentConsumer
    function cancelScoreSubscription(uint256 subscriptionId) external returns (uint256 amount) {
        address funder = _subscriptionFunders[subscriptionId];
        if (funder == address(0) || msg.sender != funder) revert NotFunder(subscriptionId, msg.sender);
        amount = router.cancelSubscription(subscriptionId);
        emit SubscriptionWithdrawn(subscriptionId, funder, amount);
        if (amount != 0) token.safeTransfer(funder, amount);
    }

    /// @inheritdoc IOracleConsumer
    function onOracleResult(uint256 requestId, int256 value) external {
        if (msg.sender != address(router)) revert OnlyRouter();
        bytes32 assetId = _pending[requestId];
        if (assetId != bytes32(0)) {
            delete _pending[requestId];
        } else {
            (uint256 subscriptionId,) = router.roundOfRequest(requestId);
            assetId = _subscriptionAssets[subscriptionId];
            if (assetId == bytes32(0)) revert UnknownRequest(requestId);
        }
        Score storage score = _scores[assetId];
        // Results can arrive out of order (a later request settling first); the newest request wins.
        if (requestId < score.requestId) return;
        (score.value, score.updatedAt, score.requestId) = (value, uint64(block.timestamp), requestId);
        emit ScoreUpdated(assetId, requestId, value);
    }

    /// @inheritdoc ISentimentConsumer
    function scoreOf(bytes32 assetId) external view returns (Score memory) {
        return _scores[assetId];
    }

    /// @inheritdoc ISentimentConsumer
    function funderOf(uint256 requestId) external view returns (address) {
        return _funders[requestId];
    }

    /// @inheritdoc ISentimentConsumer
    function subscriptionFunderOf(uint256 subscriptionId) external view returns (address) {
        return _subscriptionFunders[subscriptionId];
    }
}

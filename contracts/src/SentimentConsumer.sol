// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleConsumer} from "./interfaces/IOracleConsumer.sol";
import {IOracleRouter} from "./interfaces/IOracleRouter.sol";
import {ISentimentConsumer} from "./interfaces/ISentimentConsumer.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Sentiment consumer (example)
/// @notice Shows how a contract uses the OracleRouter: ask a sentiment score for an asset, receive the median of k
/// node answers in `onOracleResult`. Scores are scaled by 1e18 by the template's convention (-1e18 .. 1e18).
contract SentimentConsumer is ISentimentConsumer {
    using SafeERC20 for IERC20;

    /// @notice Callback gas asked for: one score write and an event.
    uint32 public constant CALLBACK_GAS = 100_000;

    /// @notice The router asked.
    IOracleRouter public immutable router;
    /// @notice The AI token fees are paid in.
    IERC20 public immutable token;
    /// @inheritdoc ISentimentConsumer
    bytes32 public immutable templateHash;

    mapping(bytes32 assetId => Score) private _scores;
    mapping(uint256 requestId => bytes32 assetId) private _pending;

    constructor(IOracleRouter router_, IERC20 token_, bytes32 templateHash_) {
        router = router_;
        token = token_;
        templateHash = templateHash_;
    }

    /// @inheritdoc ISentimentConsumer
    function requestScore(string calldata asset, uint256 fee, uint8 k, uint64 deadline)
        external
        returns (uint256 requestId)
    {
        // Refunds of expired requests land here; spend them before asking the caller for more.
        uint256 held = token.balanceOf(address(this));
        if (fee > held) token.safeTransferFrom(msg.sender, address(this), fee - held);
        token.forceApprove(address(router), fee);
        bytes32 assetId = keccak256(bytes(asset));
        requestId = router.request(templateHash, bytes(asset), fee, k, deadline, CALLBACK_GAS);
        _pending[requestId] = assetId;
        emit ScoreRequested(assetId, requestId, asset);
    }

    /// @inheritdoc IOracleConsumer
    function onOracleResult(uint256 requestId, int256 value) external {
        if (msg.sender != address(router)) revert OnlyRouter();
        bytes32 assetId = _pending[requestId];
        if (assetId == bytes32(0)) revert UnknownRequest(requestId);
        delete _pending[requestId];
        _scores[assetId] = Score({value: value, updatedAt: uint64(block.timestamp), requestId: requestId});
        emit ScoreUpdated(assetId, requestId, value);
    }

    /// @inheritdoc ISentimentConsumer
    function scoreOf(bytes32 assetId) external view returns (Score memory) {
        return _scores[assetId];
    }
}

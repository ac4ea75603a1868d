// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "./interfaces/IAIToken.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IOracleConsumer} from "./interfaces/IOracleConsumer.sol";
import {IOracleRouter} from "./interfaces/IOracleRouter.sol";
import {Median} from "./libraries/Median.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Modelex oracle router
/// @notice Templated prompts answered by k registered nodes through commit-reveal, the median delivered on-chain, and
/// subscriptions that open one such request per scheduled round. See {IOracleRouter}.
/// @dev Invariant: the router's AI balance equals the unpaid fees of open requests, plus the unclaimed refunds of
/// settled ones, plus the balances of subscriptions (each rescaled from the split epoch it was written in).
contract OracleRouter is IOracleRouter, AccessControl {
    using SafeERC20 for IAIToken;

    /// @notice May set `minAnswers`.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice The most answers a request may ask for.
    uint8 public constant MAX_ANSWERS = 16;
    /// @notice The lowest `minAnswers` the governor may set: one answer would let a requester set its own result.
    uint8 public constant MIN_ANSWERS_FLOOR = 2;
    /// @notice The largest callback gas limit a request may ask for.
    uint32 public constant MAX_CALLBACK_GAS = 2_000_000;
    /// @notice The furthest a reveal deadline (or a round's windows) may lie in the future.
    uint64 public constant MAX_DEADLINE = 30 days;
    /// @notice The largest template parameters a subscription may pass to its rounds.
    uint256 public constant MAX_PARAMS_BYTES = 1024;
    /// @dev Gas the router needs after the callback returns (event, bookkeeping).
    uint256 private constant CALLBACK_OVERHEAD = 10_000;
    /// @dev What a revealed node's commitment slot holds (a real commitment is never this, and never zero).
    bytes32 private constant REVEALED = bytes32(uint256(1));

    /// @notice The AI token fees are paid in.
    IAIToken public immutable token;
    /// @notice The registry answering nodes must be active in.
    INodeRegistry public immutable registry;

    /// @inheritdoc IOracleRouter
    uint256 public nextRequestId = 1;
    /// @inheritdoc IOracleRouter
    uint256 public nextSubscriptionId = 1;
    /// @inheritdoc IOracleRouter
    uint8 public minAnswers = 3;

    struct Answer {
        address operator;
        int256 value;
    }

    mapping(bytes32 templateHash => bytes32 modelHash) private _templateModel;
    mapping(uint256 requestId => Request) private _requests;
    mapping(uint256 requestId => mapping(address operator => bytes32 commitment)) private _commitments;
    mapping(uint256 requestId => Answer[]) private _answers;
    mapping(uint256 subscriptionId => Subscription) private _subscriptions;
    mapping(uint256 subscriptionId => mapping(uint32 round => uint256 requestId)) private _roundRequests;

    constructor(IAIToken token_, INodeRegistry registry_, address governor) {
        token = token_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _grantRole(GOVERNOR_ROLE, governor);
    }

    // ---------------------------------------------------------------- templates and governance

    /// @inheritdoc IOracleRouter
    function registerTemplate(string calldata template, bytes32 modelHash) external returns (bytes32 templateHash) {
        if (modelHash == bytes32(0)) revert ZeroModel();
        templateHash = keccak256(bytes(template));
        if (_templateModel[templateHash] != bytes32(0)) revert TemplateExists(templateHash);
        _templateModel[templateHash] = modelHash;
        emit TemplateRegistered(templateHash, modelHash, template);
    }

    /// @inheritdoc IOracleRouter
    function setMinAnswers(uint8 minAnswers_) external onlyRole(GOVERNOR_ROLE) {
        if (minAnswers_ < MIN_ANSWERS_FLOOR || minAnswers_ > MAX_ANSWERS) revert InvalidMinAnswers(minAnswers_);
        minAnswers = minAnswers_;
        emit MinAnswersSet(minAnswers_);
    }

    // ---------------------------------------------------------------- requests

    /// @inheritdoc IOracleRouter
    function request(
        bytes32 templateHash,
        bytes calldata input,
        uint256 fee,
        uint8 k,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint32 callbackGasLimit
    ) external returns (uint256 requestId) {
        Request memory r;
        (r.requester, r.templateHash, r.fee, r.k) = (msg.sender, templateHash, fee, k);
        (r.commitDeadline, r.revealDeadline, r.callbackGasLimit) = (commitDeadline, revealDeadline, callbackGasLimit);
        requestId = _createRequest(r, input);
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc IOracleRouter
    function commit(uint256 requestId, bytes32 commitment) external {
        Request storage req = _unsettled(requestId);
        if (!_commitOpen(req)) revert CommitClosed(requestId);
        if (commitment == bytes32(0) || commitment == REVEALED) revert ZeroCommitment();
        address operator = _operatorOf(msg.sender);
        if (!registry.servesModel(operator, req.modelHash)) revert ModelNotServed(operator, req.modelHash);
        if (_commitments[requestId][operator] != bytes32(0)) revert AlreadyCommitted(requestId, operator);
        _commitments[requestId][operator] = commitment;
        uint8 commits = ++req.commits;
        emit OracleCommitted(requestId, operator, commitment, commits);
    }

    /// @inheritdoc IOracleRouter
    function reveal(uint256 requestId, int256 value, bytes32 salt) external {
        Request storage req = _unsettled(requestId);
        if (_commitOpen(req)) revert RevealNotOpen(requestId);
        if (block.timestamp > req.revealDeadline) revert RevealClosed(requestId, req.revealDeadline);
        address operator = _operatorOf(msg.sender);
        bytes32 commitment = _commitments[requestId][operator];
        if (commitment == bytes32(0)) revert NotCommitted(requestId, operator);
        if (commitment == REVEALED) revert AlreadyRevealed(requestId, operator);
        if (keccak256(abi.encode(requestId, operator, value, salt)) != commitment) {
            revert CommitmentMismatch(requestId, operator);
        }
        _commitments[requestId][operator] = REVEALED;
        _answers[requestId].push(Answer({operator: operator, value: value}));
        uint8 reveals = ++req.reveals;
        uint256 share = req.fee / req.k;
        // The k-th answer also gets the rounding remainder, so a fully answered request leaves nothing behind.
        if (reveals == req.k) share = req.fee - share * (req.k - 1);
        uint256 paid = share * token.scaleSince(req.splitEpoch);
        emit OracleRevealed(requestId, operator, value, paid);
        token.safeTransfer(operator, paid);
        if (reveals == req.commits) _settle(requestId, req);
    }

    /// @inheritdoc IOracleRouter
    function finalize(uint256 requestId) external {
        Request storage req = _unsettled(requestId);
        if (_phase(req) != Phase.Finalizable) revert NotFinalizable(requestId);
        _settle(requestId, req);
    }

    /// @inheritdoc IOracleRouter
    function claimRefund(uint256 requestId) external returns (uint256 amount) {
        Request storage req = _requests[requestId];
        if (req.status == Status.None) revert UnknownRequest(requestId);
        if (msg.sender != req.requester) revert NotRequester(requestId, msg.sender);
        uint256 owed = req.refund;
        if (owed == 0) revert NothingToRefund(requestId);
        req.refund = 0;
        amount = owed * token.scaleSince(req.splitEpoch);
        emit OracleRefundClaimed(requestId, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- subscriptions

    /// @inheritdoc IOracleRouter
    function createSubscription(SubscriptionParams calldata p) external returns (uint256 subscriptionId) {
        if (_templateModel[p.templateHash] == bytes32(0)) revert UnknownTemplate(p.templateHash);
        if (p.k < minAnswers || p.k > MAX_ANSWERS) revert InvalidAnswerCount(p.k, minAnswers);
        if (p.callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(p.callbackGasLimit);
        if (p.feePerRound == 0) revert ZeroFee();
        if (
            p.rounds == 0 || p.period == 0 || p.start < block.timestamp || p.commitWindow == 0 || p.revealWindow == 0
                || uint64(p.commitWindow) + p.revealWindow > MAX_DEADLINE || p.params.length > MAX_PARAMS_BYTES
                || uint256(p.start) + uint256(p.rounds) * p.period > type(uint64).max
        ) revert InvalidSchedule();
        subscriptionId = nextSubscriptionId++;
        uint256 total = p.feePerRound * p.rounds;
        Subscription storage sub = _subscriptions[subscriptionId];
        sub.owner = msg.sender;
        sub.start = p.start;
        sub.period = p.period;
        sub.rounds = p.rounds;
        sub.windowSeconds = p.windowSeconds;
        sub.commitWindow = p.commitWindow;
        sub.revealWindow = p.revealWindow;
        sub.callbackGasLimit = p.callbackGasLimit;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        sub.splitEpoch = uint32(token.splitEpoch());
        sub.k = p.k;
        sub.templateHash = p.templateHash;
        sub.datasetHash = p.datasetHash;
        sub.feePerRound = p.feePerRound;
        sub.balance = total;
        sub.params = p.params;
        emit SubscriptionCreated(subscriptionId, msg.sender, p.templateHash, p);
        token.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @inheritdoc IOracleRouter
    function openRound(uint256 subscriptionId, uint32 round) external returns (uint256 requestId) {
        Subscription storage sub = _subscription(subscriptionId);
        if (sub.cancelled) revert SubscriptionCancelledAlready(subscriptionId);
        if (round >= sub.rounds) revert RoundExpired(subscriptionId, round);
        uint64 opensAt = _opensAt(sub, round);
        if (block.timestamp < opensAt) revert RoundNotDue(subscriptionId, round, opensAt);
        if (_roundRequests[subscriptionId][round] != 0) revert RoundAlreadyOpened(subscriptionId, round);
        if (block.timestamp >= uint256(opensAt) + sub.period) revert RoundExpired(subscriptionId, round);
        _rescale(sub);
        uint256 fee = sub.feePerRound;
        if (sub.balance < fee) revert InsufficientBalance(subscriptionId, sub.balance, fee);
        sub.balance -= fee;
        uint64 windowStart = opensAt > sub.windowSeconds ? opensAt - sub.windowSeconds : 0;
        Request memory r;
        (r.requester, r.templateHash, r.fee, r.k) = (sub.owner, sub.templateHash, fee, sub.k);
        r.commitDeadline = uint64(block.timestamp) + sub.commitWindow;
        (r.revealDeadline, r.callbackGasLimit) = (r.commitDeadline + sub.revealWindow, sub.callbackGasLimit);
        // forge-lint: disable-next-line(unsafe-typecast) ids are handed out one by one from 1
        (r.subscriptionId, r.round) = (uint64(subscriptionId), round);
        requestId =
            _createRequest(r, abi.encode(subscriptionId, round, sub.datasetHash, windowStart, opensAt, sub.params));
        _roundRequests[subscriptionId][round] = requestId;
        emit RoundOpened(subscriptionId, round, requestId, windowStart, opensAt);
    }

    /// @inheritdoc IOracleRouter
    function cancelSubscription(uint256 subscriptionId) external returns (uint256 amount) {
        Subscription storage sub = _subscription(subscriptionId);
        if (msg.sender != sub.owner) revert NotSubscriptionOwner(subscriptionId, msg.sender);
        _rescale(sub);
        sub.cancelled = true;
        amount = sub.balance;
        sub.balance = 0;
        emit SubscriptionCancelled(subscriptionId, amount);
        if (amount != 0) token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOracleRouter
    function getRequest(uint256 requestId) external view returns (Request memory req) {
        req = _requests[requestId];
        if (req.status == Status.None) return req;
        // Settled requests report their fee as if it were still held: in current AI.
        uint256 scale = token.scaleSince(req.splitEpoch);
        if (scale == 1) return req;
        req.fee *= scale;
        req.refund *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        req.splitEpoch = uint32(token.splitEpoch());
    }

    /// @inheritdoc IOracleRouter
    function phaseOf(uint256 requestId) external view returns (Phase) {
        return _phase(_requests[requestId]);
    }

    /// @inheritdoc IOracleRouter
    function escrowOf(uint256 requestId) external view returns (uint256) {
        Request storage req = _requests[requestId];
        if (req.status == Status.None) return 0;
        uint256 held = req.status == Status.Open ? req.fee - _paid(req) : req.refund;
        return held * token.scaleSince(req.splitEpoch);
    }

    /// @inheritdoc IOracleRouter
    function commitmentOf(uint256 requestId, address operator)
        external
        view
        returns (bytes32 commitment, bool revealed)
    {
        commitment = _commitments[requestId][operator];
        revealed = commitment == REVEALED;
        // The router keeps only the fact of a reveal; the revealed commitment is in the `OracleCommitted` event.
        if (revealed) commitment = bytes32(0);
    }

    /// @inheritdoc IOracleRouter
    function getAnswers(uint256 requestId) external view returns (address[] memory operators, int256[] memory values) {
        Answer[] storage answers = _answers[requestId];
        uint256 n = answers.length;
        operators = new address[](n);
        values = new int256[](n);
        for (uint256 i; i < n; ++i) {
            (operators[i], values[i]) = (answers[i].operator, answers[i].value);
        }
    }

    /// @inheritdoc IOracleRouter
    function templateModel(bytes32 templateHash) external view returns (bytes32) {
        return _templateModel[templateHash];
    }

    /// @inheritdoc IOracleRouter
    function getSubscription(uint256 subscriptionId) external view returns (Subscription memory sub) {
        sub = _subscriptions[subscriptionId];
        if (sub.owner == address(0)) return sub;
        uint256 scale = token.scaleSince(sub.splitEpoch);
        if (scale == 1) return sub;
        sub.feePerRound *= scale;
        sub.balance *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        sub.splitEpoch = uint32(token.splitEpoch());
    }

    /// @inheritdoc IOracleRouter
    function getRound(uint256 subscriptionId, uint32 round) public view returns (Round memory r) {
        Subscription storage sub = _subscription(subscriptionId);
        if (round >= sub.rounds) revert RoundExpired(subscriptionId, round);
        r.opensAt = _opensAt(sub, round);
        r.requestId = _roundRequests[subscriptionId][round];
        if (r.requestId != 0) {
            Request storage req = _requests[r.requestId];
            Status status = req.status;
            r.status = status == Status.Open
                ? RoundStatus.Open
                : status == Status.Fulfilled ? RoundStatus.Fulfilled : RoundStatus.Missed;
            r.result = req.result;
        } else if (sub.cancelled || block.timestamp >= uint256(r.opensAt) + sub.period) {
            r.status = RoundStatus.Skipped;
        } else {
            r.status = block.timestamp < r.opensAt ? RoundStatus.Scheduled : RoundStatus.Openable;
        }
    }

    /// @inheritdoc IOracleRouter
    function getRounds(uint256 subscriptionId, uint32 from, uint32 count)
        external
        view
        returns (Round[] memory rounds)
    {
        uint32 total = _subscription(subscriptionId).rounds;
        uint256 end = uint256(from) + count;
        if (end > total) end = total;
        if (from >= end) return rounds;
        rounds = new Round[](end - from);
        for (uint256 i; i < rounds.length; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast) below `total`, a uint32
            rounds[i] = getRound(subscriptionId, uint32(from + i));
        }
    }

    /// @inheritdoc IOracleRouter
    function roundOfRequest(uint256 requestId) external view returns (uint256 subscriptionId, uint32 round) {
        Request storage req = _requests[requestId];
        return (req.subscriptionId, req.round);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks and stores a request the caller filled in (requester, template, fee, k, deadlines, callback gas,
    /// subscription and round); sets the rest.
    function _createRequest(Request memory r, bytes memory input) private returns (uint256 requestId) {
        bytes32 modelHash = _templateModel[r.templateHash];
        if (modelHash == bytes32(0)) revert UnknownTemplate(r.templateHash);
        uint8 quorum = minAnswers;
        if (r.k < quorum || r.k > MAX_ANSWERS) revert InvalidAnswerCount(r.k, quorum);
        if (
            r.commitDeadline <= block.timestamp || r.revealDeadline <= r.commitDeadline
                || r.revealDeadline > block.timestamp + MAX_DEADLINE
        ) revert InvalidDeadlines(r.commitDeadline, r.revealDeadline);
        if (r.callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(r.callbackGasLimit);
        if (r.fee == 0) revert ZeroFee();
        requestId = nextRequestId++;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        r.splitEpoch = uint32(token.splitEpoch());
        (r.quorum, r.status, r.modelHash) = (quorum, Status.Open, modelHash);
        _requests[requestId] = r;
        emit OracleRequested(
            requestId, r.requester, r.templateHash, modelHash, input, r.fee, r.k, r.commitDeadline, r.revealDeadline
        );
    }

    /// @dev Delivers the median (if enough answers were revealed) and books what was not paid out as the requester's
    /// refund or back into the subscription. State is final before the callback runs, so it cannot re-enter a
    /// settling request.
    function _settle(uint256 requestId, Request storage req) private {
        uint8 reveals = req.reveals;
        uint256 unpaid = req.fee - _paid(req);
        bool fulfilled = reveals >= req.quorum;
        int256 median;
        if (fulfilled) {
            Answer[] storage answers = _answers[requestId];
            int256[] memory values = new int256[](reveals);
            for (uint256 i; i < reveals; ++i) {
                values[i] = answers[i].value;
            }
            median = Median.compute(values);
            req.result = median;
        }
        req.status = fulfilled ? Status.Fulfilled : Status.Expired;
        uint64 subscriptionId = req.subscriptionId;
        if (subscriptionId == 0) {
            req.refund = unpaid;
        } else if (unpaid != 0 || !fulfilled) {
            Subscription storage sub = _subscriptions[subscriptionId];
            _rescale(sub);
            uint256 refund = unpaid * token.scaleSince(req.splitEpoch);
            sub.balance += refund;
            if (!fulfilled) emit RoundMissed(subscriptionId, req.round, requestId, refund);
        }
        if (!fulfilled) {
            emit OracleExpired(requestId, reveals);
            return;
        }
        uint32 gasLimit = req.callbackGasLimit;
        if (gasleft() < (uint256(gasLimit) * 64) / 63 + CALLBACK_OVERHEAD) {
            revert InsufficientGasForCallback(gasleft(), gasLimit);
        }
        (bool ok,) =
            req.requester.call{gas: gasLimit}(abi.encodeCall(IOracleConsumer.onOracleResult, (requestId, median)));
        emit OracleFulfilled(requestId, median, reveals, ok);
    }

    /// @dev What the revealers were paid, in the request's split epoch units.
    function _paid(Request storage req) private view returns (uint256) {
        uint8 reveals = req.reveals;
        if (reveals == req.k) return req.fee;
        // forge-lint: disable-next-line(divide-before-multiply) each answer is paid the rounded-down share
        return (req.fee / req.k) * reveals;
    }

    function _commitOpen(Request storage req) private view returns (bool) {
        return req.commits < req.k && block.timestamp <= req.commitDeadline;
    }

    function _phase(Request storage req) private view returns (Phase) {
        Status status = req.status;
        if (status == Status.None) return Phase.None;
        if (status != Status.Open) return Phase.Settled;
        if (_commitOpen(req)) return Phase.Commit;
        if (block.timestamp > req.revealDeadline || req.reveals == req.commits) return Phase.Finalizable;
        return Phase.Reveal;
    }

    function _unsettled(uint256 requestId) private view returns (Request storage req) {
        req = _requests[requestId];
        Status status = req.status;
        if (status == Status.None) revert UnknownRequest(requestId);
        if (status != Status.Open) revert RequestSettled(requestId, status);
    }

    function _operatorOf(address caller) private view returns (address operator) {
        operator = registry.activeOperatorOf(caller);
        if (operator == address(0)) revert NotRegisteredNode(caller);
    }

    function _subscription(uint256 subscriptionId) private view returns (Subscription storage sub) {
        sub = _subscriptions[subscriptionId];
        if (sub.owner == address(0)) revert UnknownSubscription(subscriptionId);
    }

    function _opensAt(Subscription storage sub, uint32 round) private view returns (uint64) {
        return sub.start + uint64(round) * sub.period;
    }

    /// @dev Brings a subscription's amounts to the current split epoch.
    function _rescale(Subscription storage sub) private {
        uint256 epoch = token.splitEpoch();
        if (sub.splitEpoch == epoch) return;
        uint256 scale = token.scaleSince(sub.splitEpoch);
        sub.feePerRound *= scale;
        sub.balance *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        sub.splitEpoch = uint32(epoch);
    }
}

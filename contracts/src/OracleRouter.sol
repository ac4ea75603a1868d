// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "./interfaces/IAIToken.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IOracleConsumer} from "./interfaces/IOracleConsumer.sol";
import {IOracleRouter} from "./interfaces/IOracleRouter.sol";
import {Median} from "./libraries/Median.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title Modelex oracle router
/// @notice Templated prompts answered by k registered nodes, median delivered on-chain. See {IOracleRouter}.
/// @dev Invariant: the router's AI balance equals the sum of the fees of open requests (each rescaled from the split
/// epoch it was paid in).
contract OracleRouter is IOracleRouter {
    using SafeERC20 for IAIToken;

    /// @notice The most answers a request may ask for.
    uint8 public constant MAX_ANSWERS = 16;
    /// @notice The largest callback gas limit a request may ask for.
    uint32 public constant MAX_CALLBACK_GAS = 2_000_000;
    /// @notice The furthest a deadline may lie in the future.
    uint64 public constant MAX_DEADLINE = 30 days;
    /// @dev Gas the router needs after the callback returns (event, bookkeeping).
    uint256 private constant CALLBACK_OVERHEAD = 10_000;

    /// @notice The AI token fees are paid in.
    IAIToken public immutable token;
    /// @notice The registry answering nodes must be active in.
    INodeRegistry public immutable registry;

    /// @inheritdoc IOracleRouter
    uint256 public nextRequestId = 1;

    mapping(bytes32 templateHash => bytes32 modelHash) private _templateModel;
    mapping(uint256 requestId => Request) private _requests;
    mapping(uint256 requestId => address[]) private _answerers;
    mapping(uint256 requestId => int256[]) private _values;
    mapping(uint256 requestId => mapping(address operator => bool)) private _answered;

    constructor(IAIToken token_, INodeRegistry registry_) {
        token = token_;
        registry = registry_;
    }

    /// @inheritdoc IOracleRouter
    function registerTemplate(string calldata template, bytes32 modelHash) external returns (bytes32 templateHash) {
        if (modelHash == bytes32(0)) revert ZeroModel();
        templateHash = keccak256(bytes(template));
        if (_templateModel[templateHash] != bytes32(0)) revert TemplateExists(templateHash);
        _templateModel[templateHash] = modelHash;
        emit TemplateRegistered(templateHash, modelHash, template);
    }

    /// @inheritdoc IOracleRouter
    function request(
        bytes32 templateHash,
        bytes calldata input,
        uint256 fee,
        uint8 k,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 requestId) {
        bytes32 modelHash = _templateModel[templateHash];
        if (modelHash == bytes32(0)) revert UnknownTemplate(templateHash);
        if (k == 0 || k > MAX_ANSWERS) revert InvalidAnswerCount(k);
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_DEADLINE) revert InvalidDeadline(deadline);
        if (callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(callbackGasLimit);
        if (fee == 0) revert ZeroFee();
        requestId = nextRequestId++;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        uint32 epoch = uint32(token.splitEpoch());
        _requests[requestId] = Request({
            requester: msg.sender,
            deadline: deadline,
            callbackGasLimit: callbackGasLimit,
            k: k,
            status: Status.Open,
            splitEpoch: epoch,
            templateHash: templateHash,
            modelHash: modelHash,
            fee: fee
        });
        emit OracleRequested(requestId, msg.sender, templateHash, modelHash, input, fee, k, deadline);
        token.safeTransferFrom(msg.sender, address(this), fee);
    }

    /// @inheritdoc IOracleRouter
    function answer(uint256 requestId, int256 value) external {
        Request storage req = _open(requestId);
        if (block.timestamp > req.deadline) revert DeadlinePassed(requestId, req.deadline);
        address operator = registry.activeOperatorOf(msg.sender);
        if (operator == address(0)) revert NotRegisteredNode(msg.sender);
        if (!registry.servesModel(operator, req.modelHash)) revert ModelNotServed(operator, req.modelHash);
        if (_answered[requestId][operator]) revert AlreadyAnswered(requestId, operator);
        _answered[requestId][operator] = true;
        _answerers[requestId].push(operator);
        _values[requestId].push(value);
        emit OracleAnswered(requestId, operator, value);
        if (_values[requestId].length == req.k) _fulfil(requestId, req);
    }

    /// @inheritdoc IOracleRouter
    function refund(uint256 requestId) external {
        Request storage req = _open(requestId);
        if (block.timestamp <= req.deadline) revert DeadlineNotReached(requestId, req.deadline);
        req.status = Status.Refunded;
        uint256 fee = req.fee * token.scaleSince(req.splitEpoch);
        emit OracleRefunded(requestId, fee);
        token.safeTransfer(req.requester, fee);
    }

    /// @inheritdoc IOracleRouter
    function getRequest(uint256 requestId) external view returns (Request memory req) {
        req = _requests[requestId];
        if (req.status == Status.None) return req;
        // Paid-out and refunded requests report their fee as if it were still held: in current AI.
        uint256 scale = token.scaleSince(req.splitEpoch);
        if (scale == 1) return req;
        req.fee *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        req.splitEpoch = uint32(token.splitEpoch());
    }

    /// @inheritdoc IOracleRouter
    function getAnswers(uint256 requestId) external view returns (address[] memory operators, int256[] memory values) {
        return (_answerers[requestId], _values[requestId]);
    }

    /// @inheritdoc IOracleRouter
    function templateModel(bytes32 templateHash) external view returns (bytes32) {
        return _templateModel[templateHash];
    }

    /// @dev Pays the answerers, then calls back with a gas cap. The caller must leave enough gas for the callback's
    /// full limit, or a node could make any callback fail by sending the last answer with too little gas.
    function _fulfil(uint256 requestId, Request storage req) private {
        req.status = Status.Fulfilled;
        int256 median = Median.compute(_values[requestId]);
        address[] storage answerers = _answerers[requestId];
        uint256 k = answerers.length;
        uint256 fee = req.fee * token.scaleSince(req.splitEpoch);
        uint256 share = fee / k;
        // The first answerer also gets the rounding remainder.
        token.safeTransfer(answerers[0], share + fee - share * k);
        for (uint256 i = 1; i < k; ++i) {
            token.safeTransfer(answerers[i], share);
        }
        uint32 gasLimit = req.callbackGasLimit;
        if (gasleft() < (uint256(gasLimit) * 64) / 63 + CALLBACK_OVERHEAD) {
            revert InsufficientGasForCallback(gasleft(), gasLimit);
        }
        (bool ok,) =
            req.requester.call{gas: gasLimit}(abi.encodeCall(IOracleConsumer.onOracleResult, (requestId, median)));
        emit OracleFulfilled(requestId, median, ok);
    }

    function _open(uint256 requestId) private view returns (Request storage req) {
        req = _requests[requestId];
        Status status = req.status;
        if (status == Status.None) revert UnknownRequest(requestId);
        if (status == Status.Fulfilled) revert AlreadyFulfilled(requestId);
        if (status == Status.Refunded) revert AlreadyRefunded(requestId);
    }
}

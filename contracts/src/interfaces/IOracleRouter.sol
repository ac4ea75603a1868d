// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Modelex oracle router
/// @notice Contracts ask the network a templated prompt (a registered template and input bytes) with a fee in AI, a
/// number `k` of answers wanted and a deadline. Active nodes serving the template's model each answer once with a
/// scaled `int256`; the k-th answer delivers the median to the requester's callback (with a gas cap) and splits the
/// fee among the k answerers. Requests that miss the deadline can be refunded.
/// @dev Token splits: a request's fee is stored with the token's split epoch it was paid in and multiplied by
/// `token.scaleSince(epoch)` when paid out or refunded, so a split while a request is open pays out every token
/// the router holds for it. `getRequest` reports the fee in current AI.
interface IOracleRouter {
    /// @notice Where a request is in its life.
    enum Status {
        None,
        Open,
        Fulfilled,
        Refunded
    }

    /// @notice A request as stored.
    struct Request {
        address requester;
        uint64 deadline;
        uint32 callbackGasLimit;
        uint8 k;
        Status status;
        /// @dev The token split epoch `fee` is counted in (the current one in `getRequest`).
        uint32 splitEpoch;
        bytes32 templateHash;
        bytes32 modelHash;
        uint256 fee;
    }

    /// @notice Emitted when a template is registered; nodes read the template text from here.
    event TemplateRegistered(bytes32 indexed templateHash, bytes32 indexed modelHash, string template);
    /// @notice Emitted when a contract requests answers.
    event OracleRequested(
        uint256 indexed requestId,
        address indexed requester,
        bytes32 indexed templateHash,
        bytes32 modelHash,
        bytes input,
        uint256 fee,
        uint8 k,
        uint64 deadline
    );
    /// @notice Emitted for every answer.
    event OracleAnswered(uint256 indexed requestId, address indexed operator, int256 value);
    /// @notice Emitted when the k-th answer arrives; `callbackSucceeded` tells whether the callback returned.
    event OracleFulfilled(uint256 indexed requestId, int256 median, bool callbackSucceeded);
    /// @notice Emitted when a request missed its deadline and its fee was refunded; `fee` is in current AI.
    event OracleRefunded(uint256 indexed requestId, uint256 fee);

    /// @notice Thrown when registering a template that exists.
    error TemplateExists(bytes32 templateHash);
    /// @notice Thrown when a template names the zero model hash.
    error ZeroModel();
    /// @notice Thrown when requesting with an unregistered template.
    error UnknownTemplate(bytes32 templateHash);
    /// @notice Thrown when the number of answers is zero or above `MAX_ANSWERS`.
    error InvalidAnswerCount(uint8 k);
    /// @notice Thrown when the deadline is not in the future or too far away.
    error InvalidDeadline(uint64 deadline);
    /// @notice Thrown when the callback gas limit is above `MAX_CALLBACK_GAS`.
    error CallbackGasTooHigh(uint32 callbackGasLimit);
    /// @notice Thrown when the fee is zero.
    error ZeroFee();
    /// @notice Thrown when no request has this id.
    error UnknownRequest(uint256 requestId);
    /// @notice Thrown when answering a request that has already been fulfilled.
    error AlreadyFulfilled(uint256 requestId);
    /// @notice Thrown when answering or refunding a request that was refunded.
    error AlreadyRefunded(uint256 requestId);
    /// @notice Thrown when answering after the deadline.
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    /// @notice Thrown when refunding before the deadline.
    error DeadlineNotReached(uint256 requestId, uint64 deadline);
    /// @notice Thrown when the caller is neither the operator nor the signer of an active node.
    error NotRegisteredNode(address caller);
    /// @notice Thrown when the answering node does not serve the template's model.
    error ModelNotServed(address operator, bytes32 modelHash);
    /// @notice Thrown when a node answers the same request twice.
    error AlreadyAnswered(uint256 requestId, address operator);
    /// @notice Thrown when the final answer comes with too little gas to run the callback with its full limit.
    error InsufficientGasForCallback(uint256 gasLeft, uint32 callbackGasLimit);

    /// @notice Registers `template` for `modelHash`; its hash is `keccak256(bytes(template))`. Anyone may register.
    function registerTemplate(string calldata template, bytes32 modelHash) external returns (bytes32 templateHash);
    /// @notice Requests `k` answers to `templateHash` filled with `input`, pulling `fee` AI from the caller.
    function request(
        bytes32 templateHash,
        bytes calldata input,
        uint256 fee,
        uint8 k,
        uint64 deadline,
        uint32 callbackGasLimit
    ) external returns (uint256 requestId);
    /// @notice Answers a request; the k-th answer fulfils it. Caller: operator or signer of an active node serving
    /// the template's model.
    function answer(uint256 requestId, int256 value) external;
    /// @notice Refunds the fee of a request that reached its deadline with fewer than k answers.
    function refund(uint256 requestId) external;

    /// @notice A request by id.
    function getRequest(uint256 requestId) external view returns (Request memory);
    /// @notice Who answered a request so far and what.
    function getAnswers(uint256 requestId) external view returns (address[] memory operators, int256[] memory values);
    /// @notice The model a template runs on (zero when not registered).
    function templateModel(bytes32 templateHash) external view returns (bytes32);
    /// @notice The id the next request will get.
    function nextRequestId() external view returns (uint256);
}

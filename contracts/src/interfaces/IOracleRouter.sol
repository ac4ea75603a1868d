// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Modelex oracle router
/// @notice Contracts ask the network a templated prompt (a registered template and input bytes) with a fee in AI, a
/// number `k` of answers wanted and two deadlines. Answers go through commit-reveal:
/// 1. **Commit** (until `k` commits are in or `commitDeadline` passes): an active node serving the template's model
///    commits `keccak256(abi.encode(requestId, operator, value, salt))` once.
/// 2. **Reveal** (from then until `revealDeadline`): each committed node reveals `value` and `salt`; it is paid
///    `fee / k` at once. Commits are closed by then, so a revealed value cannot be copied into a new commit, and a
///    commitment binds its operator, so a copied commitment cannot be revealed by another node.
/// 3. **Settlement**: when the last committed node reveals, or by `finalize` after `revealDeadline`, the request is
///    `Fulfilled` if at least `quorum` (the router's `minAnswers` when requested) answers were revealed: the median
///    goes to the requester's callback. Otherwise it is `Expired` and no result is delivered. Either way the fee of
///    the answers not revealed goes back to the requester: claimable with `claimRefund`, or into the subscription's
///    balance for a subscription's round.
/// `k` must be at least `minAnswers` (set by the governor, 3 at deployment, never below 2), so a requester cannot
/// answer its own request alone.
///
/// **Subscriptions** (scheduled jobs) live here too, so their funds are escrowed with the requests they pay for and
/// refunds of missed rounds move within the router's books: an owner funds `rounds × feePerRound`; round `r` may be
/// opened by anyone during its slot `[start + r·period, start + (r+1)·period)`, which turns `feePerRound` of the
/// balance into an ordinary request (requester: the owner, input: `abi.encode(subscriptionId, round, datasetHash,
/// windowStart, windowEnd, params)` with `windowEnd` the round's time and `windowStart = windowEnd - windowSeconds`).
/// A round that settles `Expired` is `Missed` and its refund returns to the balance; the owner can cancel and
/// withdraw the balance at any time (rounds already open finish, their refunds withdrawable again afterwards).
/// @dev Token splits: a request's fee (and a subscription's balance and fee per round) are stored with the token's
/// split epoch they were written in and multiplied by `token.scaleSince(epoch)` when paid out, refunded or read, so
/// a split while funds are held never strands tokens. Views report current AI.
interface IOracleRouter {
    /// @notice Where a request is in its life.
    enum Status {
        None,
        Open,
        Fulfilled,
        Expired
    }

    /// @notice What may be done with a request at the current block time (see `phaseOf`).
    enum Phase {
        None,
        Commit,
        Reveal,
        Finalizable,
        Settled
    }

    /// @notice A request as stored.
    struct Request {
        address requester;
        uint64 commitDeadline;
        uint32 callbackGasLimit;
        uint64 revealDeadline;
        /// @dev The token split epoch `fee` and `refund` are counted in (the current one in `getRequest`).
        uint32 splitEpoch;
        /// @dev Zero for a plain request; the subscription and round otherwise.
        uint64 subscriptionId;
        uint32 round;
        uint8 k;
        /// @dev Revealed answers needed for a result when fewer than `k` reveal: `minAnswers` at request time.
        uint8 quorum;
        uint8 commits;
        uint8 reveals;
        Status status;
        bytes32 templateHash;
        bytes32 modelHash;
        uint256 fee;
        /// @dev Owed to the requester after settlement and not yet claimed (always 0 for a subscription's round).
        uint256 refund;
        /// @dev The median delivered (when `Fulfilled`).
        int256 result;
    }

    /// @notice What a subscription's creator chooses.
    struct SubscriptionParams {
        bytes32 templateHash;
        /// @dev Content hash of the data set of dated items the rounds read.
        bytes32 datasetHash;
        /// @dev Each round reads the items dated in `[roundTime - windowSeconds, roundTime)`.
        uint32 windowSeconds;
        /// @dev Round `r`'s time: `start + r * period`.
        uint64 start;
        uint32 period;
        uint32 rounds;
        uint8 k;
        /// @dev Seconds from a round's opening to its commit deadline, and from there to its reveal deadline.
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 callbackGasLimit;
        uint256 feePerRound;
        /// @dev The template's parameters (for example the asset), passed to every round in its input.
        bytes params;
    }

    /// @notice A subscription as stored.
    struct Subscription {
        address owner;
        uint64 start;
        uint32 period;
        uint32 rounds;
        uint32 windowSeconds;
        uint32 commitWindow;
        uint32 revealWindow;
        uint32 callbackGasLimit;
        /// @dev The token split epoch `feePerRound` and `balance` are counted in (the current one in views).
        uint32 splitEpoch;
        uint8 k;
        bool cancelled;
        bytes32 templateHash;
        bytes32 datasetHash;
        uint256 feePerRound;
        /// @dev What the subscription still holds for rounds not opened (and refunds of missed rounds).
        uint256 balance;
        bytes params;
    }

    /// @notice Where a subscription's round is.
    enum RoundStatus {
        /// @dev Its time has not come.
        Scheduled,
        /// @dev Its slot is running and nobody opened it yet.
        Openable,
        Open,
        Fulfilled,
        /// @dev Opened, but too few answers were revealed; its fee (less what revealers earned) was refunded.
        Missed,
        /// @dev Never opened: its slot passed, or the subscription was cancelled first. Its fee stayed in the balance.
        Skipped
    }

    /// @notice A round as the views report it.
    struct Round {
        uint64 opensAt;
        RoundStatus status;
        /// @dev Zero until opened.
        uint256 requestId;
        /// @dev The median (when `Fulfilled`).
        int256 result;
    }

    /// @notice Emitted when a template is registered; nodes read the template text from here.
    event TemplateRegistered(bytes32 indexed templateHash, bytes32 indexed modelHash, string template);
    /// @notice Emitted when answers are requested (also for a subscription's round).
    event OracleRequested(
        uint256 indexed requestId,
        address indexed requester,
        bytes32 indexed templateHash,
        bytes32 modelHash,
        bytes input,
        uint256 fee,
        uint8 k,
        uint64 commitDeadline,
        uint64 revealDeadline
    );
    /// @notice Emitted for every commit; `commits` is the count so far (reveals open when it reaches `k`).
    event OracleCommitted(uint256 indexed requestId, address indexed operator, bytes32 commitment, uint8 commits);
    /// @notice Emitted for every valid reveal; `paid` is what the operator got, in current AI.
    event OracleRevealed(uint256 indexed requestId, address indexed operator, int256 value, uint256 paid);
    /// @notice Emitted when a request settles with a result; `callbackSucceeded` tells whether the callback returned.
    event OracleFulfilled(uint256 indexed requestId, int256 median, uint8 reveals, bool callbackSucceeded);
    /// @notice Emitted when a request settles with fewer than `quorum` revealed answers.
    event OracleExpired(uint256 indexed requestId, uint8 reveals);
    /// @notice Emitted when a requester claims what its request did not spend; `amount` in current AI.
    event OracleRefundClaimed(uint256 indexed requestId, address indexed requester, uint256 amount);
    /// @notice Emitted when the governor changes the minimum number of answers.
    event MinAnswersSet(uint8 minAnswers);
    /// @notice Emitted when a subscription is created and funded.
    event SubscriptionCreated(
        uint256 indexed subscriptionId, address indexed owner, bytes32 indexed templateHash, SubscriptionParams params
    );
    /// @notice Emitted when a round is opened: its request and the window of items it reads.
    event RoundOpened(
        uint256 indexed subscriptionId, uint32 indexed round, uint256 requestId, uint64 windowStart, uint64 windowEnd
    );
    /// @notice Emitted when a round's request settles with fewer than `quorum` answers; `refund` (current AI) went back
    /// to the subscription's balance.
    event RoundMissed(uint256 indexed subscriptionId, uint32 indexed round, uint256 requestId, uint256 refund);
    /// @notice Emitted when the owner cancels (or withdraws again from) a subscription; `amount` in current AI.
    event SubscriptionCancelled(uint256 indexed subscriptionId, uint256 amount);

    /// @notice Thrown when registering a template that exists.
    error TemplateExists(bytes32 templateHash);
    /// @notice Thrown when a template names the zero model hash.
    error ZeroModel();
    /// @notice Thrown when requesting with an unregistered template.
    error UnknownTemplate(bytes32 templateHash);
    /// @notice Thrown when the number of answers is below `minAnswers` or above `MAX_ANSWERS`.
    error InvalidAnswerCount(uint8 k, uint8 minAnswers);
    /// @notice Thrown when the governor sets a minimum below 2 or above `MAX_ANSWERS`.
    error InvalidMinAnswers(uint8 minAnswers);
    /// @notice Thrown when the commit deadline is not in the future, or the reveal deadline not after it or too far.
    error InvalidDeadlines(uint64 commitDeadline, uint64 revealDeadline);
    /// @notice Thrown when the callback gas limit is above `MAX_CALLBACK_GAS`.
    error CallbackGasTooHigh(uint32 callbackGasLimit);
    /// @notice Thrown when the fee is zero.
    error ZeroFee();
    /// @notice Thrown when no request has this id.
    error UnknownRequest(uint256 requestId);
    /// @notice Thrown when committing, revealing or finalizing a request that has settled.
    error RequestSettled(uint256 requestId, Status status);
    /// @notice Thrown when committing after `k` commits or after the commit deadline.
    error CommitClosed(uint256 requestId);
    /// @notice Thrown when committing the zero hash.
    error ZeroCommitment();
    /// @notice Thrown when a node commits twice to one request.
    error AlreadyCommitted(uint256 requestId, address operator);
    /// @notice Thrown when revealing while commits are still open.
    error RevealNotOpen(uint256 requestId);
    /// @notice Thrown when revealing after the reveal deadline.
    error RevealClosed(uint256 requestId, uint64 revealDeadline);
    /// @notice Thrown when a node that did not commit reveals.
    error NotCommitted(uint256 requestId, address operator);
    /// @notice Thrown when a node reveals twice.
    error AlreadyRevealed(uint256 requestId, address operator);
    /// @notice Thrown when the revealed value and salt do not hash to the node's commitment.
    error CommitmentMismatch(uint256 requestId, address operator);
    /// @notice Thrown when finalizing before the reveal deadline while committed answers may still be revealed.
    error NotFinalizable(uint256 requestId);
    /// @notice Thrown when the caller is neither the operator nor the signer of an active node.
    error NotRegisteredNode(address caller);
    /// @notice Thrown when the node does not serve the template's model.
    error ModelNotServed(address operator, bytes32 modelHash);
    /// @notice Thrown when the settling transaction comes with too little gas to run the callback with its full limit.
    error InsufficientGasForCallback(uint256 gasLeft, uint32 callbackGasLimit);
    /// @notice Thrown when anyone but the requester claims a refund.
    error NotRequester(uint256 requestId, address caller);
    /// @notice Thrown when claiming a refund of an open request, of a subscription's round, or twice.
    error NothingToRefund(uint256 requestId);
    /// @notice Thrown when no subscription has this id.
    error UnknownSubscription(uint256 subscriptionId);
    /// @notice Thrown when a subscription's schedule is invalid (no rounds, zero period, start in the past, windows
    /// outside `(0, MAX_DEADLINE]`) or its parameters exceed `MAX_PARAMS_BYTES`.
    error InvalidSchedule();
    /// @notice Thrown when opening a round before its time.
    error RoundNotDue(uint256 subscriptionId, uint32 round, uint64 opensAt);
    /// @notice Thrown when opening a round after its slot or beyond the subscription's last round.
    error RoundExpired(uint256 subscriptionId, uint32 round);
    /// @notice Thrown when opening a round that is open or done.
    error RoundAlreadyOpened(uint256 subscriptionId, uint32 round);
    /// @notice Thrown when opening a round of a cancelled subscription.
    error SubscriptionCancelledAlready(uint256 subscriptionId);
    /// @notice Thrown when the subscription's balance cannot pay a round.
    error InsufficientBalance(uint256 subscriptionId, uint256 balance, uint256 feePerRound);
    /// @notice Thrown when anyone but the owner cancels a subscription.
    error NotSubscriptionOwner(uint256 subscriptionId, address caller);

    /// @notice Registers `template` for `modelHash`; its hash is `keccak256(bytes(template))`. Anyone may register.
    function registerTemplate(string calldata template, bytes32 modelHash) external returns (bytes32 templateHash);
    /// @notice Requests `k` answers to `templateHash` filled with `input`, pulling `fee` AI from the caller, who gets
    /// the median in `IOracleConsumer.onOracleResult`.
    function request(
        bytes32 templateHash,
        bytes calldata input,
        uint256 fee,
        uint8 k,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint32 callbackGasLimit
    ) external returns (uint256 requestId);
    /// @notice Commits to an answer: `commitment = keccak256(abi.encode(requestId, operator, value, salt))`. Caller:
    /// operator or signer of an active node serving the template's model; once per operator.
    function commit(uint256 requestId, bytes32 commitment) external;
    /// @notice Reveals a committed answer and pays the node `fee / k`; the last committed node's reveal settles.
    function reveal(uint256 requestId, int256 value, bytes32 salt) external;
    /// @notice Settles a request after its reveal deadline (or once no commit can come and every commit was revealed).
    /// Anyone may call.
    function finalize(uint256 requestId) external;
    /// @notice Sends the requester what its settled request did not spend; returns the amount (current AI).
    function claimRefund(uint256 requestId) external returns (uint256 amount);
    /// @notice Sets the fewest answers a request may ask for and the quorum of later requests. Governor only.
    function setMinAnswers(uint8 minAnswers) external;

    /// @notice Creates a subscription and pulls `rounds × feePerRound` from the caller, its owner.
    function createSubscription(SubscriptionParams calldata params) external returns (uint256 subscriptionId);
    /// @notice Opens round `round` of a subscription during its slot: creates its request from the balance. Anyone.
    function openRound(uint256 subscriptionId, uint32 round) external returns (uint256 requestId);
    /// @notice Stops a subscription (no more rounds open) and sends its balance to the owner; may be called again to
    /// withdraw refunds of rounds that were open. Owner only. Returns the amount (current AI).
    function cancelSubscription(uint256 subscriptionId) external returns (uint256 amount);

    /// @notice A request by id (fee, refund and split epoch in current AI).
    function getRequest(uint256 requestId) external view returns (Request memory);
    /// @notice What may be done with a request now.
    function phaseOf(uint256 requestId) external view returns (Phase);
    /// @notice What the router holds for a request now, in current AI: the unpaid fee while open, the unclaimed
    /// refund once settled.
    function escrowOf(uint256 requestId) external view returns (uint256);
    /// @notice A node's commitment to a request (zero if none) and whether it was revealed.
    function commitmentOf(uint256 requestId, address operator) external view returns (bytes32 commitment, bool revealed);
    /// @notice The answers revealed so far, in the order revealed.
    function getAnswers(uint256 requestId) external view returns (address[] memory operators, int256[] memory values);
    /// @notice The model a template runs on (zero when not registered).
    function templateModel(bytes32 templateHash) external view returns (bytes32);
    /// @notice The id the next request will get.
    function nextRequestId() external view returns (uint256);
    /// @notice The fewest answers a request may ask for (the quorum of new requests).
    function minAnswers() external view returns (uint8);

    /// @notice A subscription by id (fee per round and balance in current AI).
    function getSubscription(uint256 subscriptionId) external view returns (Subscription memory);
    /// @notice One round of a subscription.
    function getRound(uint256 subscriptionId, uint32 round) external view returns (Round memory);
    /// @notice Rounds `from .. from + count - 1` of a subscription (clipped to its rounds).
    function getRounds(uint256 subscriptionId, uint32 from, uint32 count) external view returns (Round[] memory);
    /// @notice The subscription and round a request belongs to (zeros for a plain request).
    function roundOfRequest(uint256 requestId) external view returns (uint256 subscriptionId, uint32 round);
    /// @notice The id the next subscription will get.
    function nextSubscriptionId() external view returns (uint256);
}

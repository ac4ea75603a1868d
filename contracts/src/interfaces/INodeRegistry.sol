// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC677Receiver} from "./IERC677Receiver.sol";

/// @title Modelex node registry
/// @notice Inference nodes register here with a peer id, a signing key, the models they serve, their prices and a
/// stake in AI. The public tier needs `minStake`; governor-whitelisted nodes may run without stake. Stake leaves
/// through an unbonding delay and can be slashed by authorised verifier contracts. Every change emits an event.
/// @dev A node is identified by its operator address (the account that registered it). Signers: binding a signer
/// to an operator needs the signer's consent, an EIP-712 `SignerBinding(address operator,bytes peerId,uint256
/// nonce)` signature in the domain ("Modelex NodeRegistry", "1", chain id, this contract) with the signer's
/// `signerNonces` (used up by the binding), so no one can squat a key they do not hold. A bound signer stays bound
/// to its operator forever: replaced signers are retired (no longer `activeOperatorOf` anything) but remain
/// `slashableOperatorOf` their operator, so rotating keys never escapes an equivocation proof, and no other
/// operator can ever use them. Peer ids are NOT proven: a libp2p Ed25519 peer key cannot be checked on-chain (no
/// Ed25519 precompile), so `operatorOfPeerId` is first come first served and clients must authenticate the peer
/// id off-chain (the libp2p connection does) and compare it with the registry. Token splits: a node's
/// `stake` and `unbonding` are stored with the token's split epoch they were last written in and multiplied by
/// `token.scaleSince(epoch)` when next written or read, so the views always report current AI and the registry's
/// balance always equals the stakes it books. Amounts passed in (`stake`, `amount`, `minStake`) are current AI;
/// `minStake` and prices are parameters and do not rescale on a split (the governor and operators set them again).
interface INodeRegistry is IERC677Receiver {
    /// @notice What a node operator declares when registering or updating.
    struct NodeParams {
        /// @dev libp2p peer id, as bytes.
        bytes peerId;
        /// @dev Key that signs receipts and answers on the node's behalf.
        address signer;
        /// @dev Hashes of the models served.
        bytes32[] models;
        /// @dev Price in AI wei per million prompt tokens.
        uint128 pricePerMillionInput;
        /// @dev Price in AI wei per million completion tokens.
        uint128 pricePerMillionOutput;
        string metadataURI;
    }

    /// @notice A node as stored.
    struct Node {
        address operator;
        /// @dev The token split epoch `stake` and `unbonding` are counted in (the current one in views).
        uint32 splitEpoch;
        address signer;
        bool active;
        bool whitelisted;
        uint64 unbondingEnds;
        uint128 pricePerMillionInput;
        uint128 pricePerMillionOutput;
        uint256 stake;
        uint256 unbonding;
        bytes peerId;
        bytes32[] models;
        string metadataURI;
    }

    /// @notice Emitted when a node registers (or re-registers after deregistering).
    event NodeRegistered(
        address indexed operator,
        address indexed signer,
        bytes peerId,
        bytes32[] models,
        uint128 pricePerMillionInput,
        uint128 pricePerMillionOutput,
        string metadataURI,
        uint256 stake
    );
    /// @notice Emitted when an active node changes what it declared.
    event NodeUpdated(
        address indexed operator,
        address indexed signer,
        bytes peerId,
        bytes32[] models,
        uint128 pricePerMillionInput,
        uint128 pricePerMillionOutput,
        string metadataURI
    );
    /// @notice Emitted when stake is added to a node.
    event StakeAdded(address indexed operator, uint256 amount, uint256 stake);
    /// @notice Emitted when an active node moves part of its stake into unbonding.
    event StakeUnbonding(
        address indexed operator, uint256 amount, uint256 stake, uint256 unbonding, uint64 unbondingEnds
    );
    /// @notice Emitted when a node stops being active (deregistered, slashed below the minimum, or unwhitelisted).
    event NodeDeregistered(address indexed operator, uint256 unbonding, uint64 unbondingEnds);
    /// @notice Emitted when unbonded stake is withdrawn.
    event StakeWithdrawn(address indexed operator, uint256 amount);
    /// @notice Emitted when a verifier slashes a node.
    event NodeSlashed(
        address indexed operator, address indexed verifier, uint256 amount, address rewardee, uint256 reward
    );
    /// @notice Emitted when the governor changes a node's whitelist status.
    event WhitelistSet(address indexed operator, bool whitelisted);
    /// @notice Emitted when the governor changes the public-tier minimum stake.
    event MinStakeSet(uint256 minStake);
    /// @notice Emitted when the governor changes the unbonding delay.
    event UnbondingDelaySet(uint64 unbondingDelay);
    /// @notice Emitted when the governor changes where slashed stake goes.
    event TreasurySet(address treasury);
    /// @notice Emitted when the governor changes the prover's share of slashed stake.
    event ProverRewardSet(uint256 bps);

    /// @notice Thrown when an operator that already runs an active node registers again.
    error AlreadyRegistered(address operator);
    /// @notice Thrown when the operator has never registered a node.
    error NodeNotRegistered(address operator);
    /// @notice Thrown when the operator's node is not active.
    error NodeNotActive(address operator);
    /// @notice Thrown when a public-tier node would hold less than the minimum stake.
    error InsufficientStake(uint256 stake, uint256 minStake);
    /// @notice Thrown when the signer is the zero address.
    error InvalidSigner();
    /// @notice Thrown when the signer is (or was) bound to another operator.
    error SignerTaken(address signer, address operator);
    /// @notice Thrown when a new signer's proof of possession is missing, malformed or not signed by it.
    error InvalidSignerProof(address signer);
    /// @notice Thrown when the prover's share would exceed `MAX_PROVER_REWARD_BPS`.
    error ProverRewardTooHigh(uint256 bps);
    /// @notice Thrown when the peer id is empty or longer than `MAX_PEER_ID_LENGTH`.
    error InvalidPeerId();
    /// @notice Thrown when the peer id already belongs to another operator.
    error PeerIdTaken(address operator);
    /// @notice Thrown when a node declares no models or more than `MAX_MODELS`.
    error InvalidModelCount(uint256 count);
    /// @notice Thrown when an amount that must be positive is zero.
    error ZeroAmount();
    /// @notice Thrown when unbonding more than the node's stake.
    error AmountExceedsStake(uint256 amount, uint256 stake);
    /// @notice Thrown when there is no unbonded stake to withdraw.
    error NothingToWithdraw();
    /// @notice Thrown when withdrawing before the unbonding delay has passed.
    error UnbondingNotFinished(uint64 unbondingEnds);
    /// @notice Thrown when `onTokenTransfer` is called by anything but the AI token.
    error OnlyToken();
    /// @notice Thrown when `transferAndCall` data does not start with a supported selector.
    error UnsupportedTokenAction(bytes4 selector);
    /// @notice Thrown when a configuration address is zero.
    error ZeroAddress();
    /// @notice Thrown when the unbonding delay exceeds `MAX_UNBONDING_DELAY`.
    error UnbondingDelayTooLong(uint64 unbondingDelay);

    /// @notice Registers the caller's node, pulling `stake` AI (approve first). `signerProof` is `params.signer`'s
    /// `SignerBinding` signature (see `signerBindingDigest`); ignored (may be empty) when re-registering with the
    /// node's current signer.
    function register(NodeParams calldata params, bytes calldata signerProof, uint256 stake) external;
    /// @notice Replaces what the caller's active node declared. A signer other than the current one (new, or a
    /// retired one of this operator) needs its `SignerBinding` signature in `signerProof`; the replaced signer is
    /// retired. Otherwise `signerProof` is ignored (may be empty).
    function update(NodeParams calldata params, bytes calldata signerProof) external;
    /// @notice Adds `amount` AI (approve first) to the caller's node stake.
    function addStake(uint256 amount) external;
    /// @notice Moves `amount` of an active node's stake into unbonding; the rest must still meet the minimum.
    function unbond(uint256 amount) external;
    /// @notice Deactivates the caller's node and moves all its stake into unbonding.
    function deregister() external;
    /// @notice Sends the caller's unbonded stake back once the unbonding delay has passed.
    function withdraw() external;
    /// @notice Takes up to `amount` from a node's stake, then from its unbonding stake; `proverRewardBps` of it goes
    /// to `rewardee`, the rest to the treasury. Verifier role only.
    /// @return slashed The amount actually taken.
    function slash(address operator, uint256 amount, address rewardee) external returns (uint256 slashed);

    /// @notice Whitelists (or removes) a node: whitelisted nodes need no stake. Governor only.
    function setWhitelisted(address operator, bool whitelisted) external;
    /// @notice Sets the public-tier minimum stake. Governor only.
    function setMinStake(uint256 minStake) external;
    /// @notice Sets the unbonding delay. Governor only.
    function setUnbondingDelay(uint64 unbondingDelay) external;
    /// @notice Sets the rewardee's share of slashed stake, in basis points, at most `MAX_PROVER_REWARD_BPS`.
    /// Governor only.
    function setProverRewardBps(uint256 bps) external;
    /// @notice Sets where slashed stake goes. Governor only.
    function setTreasury(address treasury) external;

    /// @notice The node registered by `operator` (zero values when none).
    function getNode(address operator) external view returns (Node memory);
    /// @notice The operator whose node's current signer is `signer`, active or not (zero when none).
    function operatorOfSigner(address signer) external view returns (address);
    /// @notice The operator `signer` is bound to, as its current or a retired signer (zero when never bound):
    /// whose stake pays for what `signer` signed. Never changes once set.
    function slashableOperatorOf(address signer) external view returns (address);
    /// @notice The EIP-712 digest `signer` signs to consent to serve `operator` with `peerId`, at the signer's
    /// current nonce.
    function signerBindingDigest(address operator, address signer, bytes calldata peerId)
        external
        view
        returns (bytes32);
    /// @notice The signer's next `SignerBinding` nonce; each binding uses one.
    function signerNonces(address signer) external view returns (uint256);
    /// @notice The EIP-712 domain separator of signer bindings.
    function domainSeparator() external view returns (bytes32);
    /// @notice The operator whose node has `peerId` (zero when none).
    function operatorOfPeerId(bytes calldata peerId) external view returns (address);
    /// @notice Whether `operator` runs an active node.
    function isActive(address operator) external view returns (bool);
    /// @notice The operator of the active node that `account` is the operator or current signer of (zero when none;
    /// retired signers answer zero).
    function activeOperatorOf(address account) external view returns (address);
    /// @notice Whether `operator`'s node is active and declares `model`.
    function servesModel(address operator, bytes32 model) external view returns (bool);
    /// @notice The number of active nodes.
    function activeNodeCount() external view returns (uint256);
    /// @notice Active nodes `offset` to `offset + limit` (fewer at the end) and the total number of active nodes.
    function activeNodes(uint256 offset, uint256 limit) external view returns (Node[] memory page, uint256 total);
    /// @notice The public-tier minimum stake.
    function minStake() external view returns (uint256);
    /// @notice Seconds between deregistering or unbonding and being able to withdraw.
    function unbondingDelay() external view returns (uint64);
    /// @notice Where the non-reward part of slashed stake goes.
    function treasury() external view returns (address);
    /// @notice The rewardee's share of slashed stake, in basis points (500 at deployment).
    function proverRewardBps() external view returns (uint16);
}

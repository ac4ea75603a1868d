// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "./interfaces/IAIToken.sol";
import {IERC677Receiver} from "./interfaces/IERC677Receiver.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/// @title Modelex node registry
/// @notice Who serves which models at what price, backed by how much stake. See {INodeRegistry}.
/// @dev Invariant: the registry's AI balance equals the sum of every node's `stake + unbonding` (as the views report
/// them, rescaled to the current split epoch). Every function that touches a node's amounts first brings them to
/// the current epoch (`_sync`). A signer, once bound to an operator, stays bound to it forever (retired signers
/// included), so `slashableOperatorOf` never changes its answer for a signer and equivocation stays provable.
contract NodeRegistry is INodeRegistry, AccessControl, EIP712 {
    using SafeERC20 for IAIToken;
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice The role that whitelists nodes and sets parameters.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice The role of contracts allowed to slash (ReceiptAnchor).
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice The most models one node may declare.
    uint256 public constant MAX_MODELS = 32;
    /// @notice The longest peer id accepted, in bytes.
    uint256 public constant MAX_PEER_ID_LENGTH = 128;
    /// @notice The longest unbonding delay the governor may set.
    uint64 public constant MAX_UNBONDING_DELAY = 90 days;
    /// @notice The largest share of slashed stake, in basis points, the governor may give to the rewardee.
    /// @dev Whoever proves equivocation is rewarded, and that can be the cheater itself from a fresh address, so
    /// this cap is what guarantees a cheater loses at least 90% of its stake.
    uint256 public constant MAX_PROVER_REWARD_BPS = 1000;
    /// @notice The EIP-712 type a signer signs to consent to serving an operator's node with a peer id.
    bytes32 public constant SIGNER_BINDING_TYPEHASH =
        keccak256("SignerBinding(address operator,bytes peerId,uint256 nonce)");

    /// @notice The AI token stake is paid in.
    IAIToken public immutable token;

    /// @inheritdoc INodeRegistry
    uint256 public minStake;
    /// @inheritdoc INodeRegistry
    uint64 public unbondingDelay;
    /// @inheritdoc INodeRegistry
    address public treasury;
    /// @inheritdoc INodeRegistry
    uint16 public proverRewardBps = 500;
    /// @inheritdoc INodeRegistry
    mapping(address signer => uint256) public signerNonces;

    mapping(address operator => Node) private _nodes;
    mapping(address signer => address operator) private _operatorOfSigner;
    mapping(bytes32 peerIdHash => address operator) private _operatorOfPeerId;
    EnumerableSet.AddressSet private _active;

    constructor(IAIToken token_, address governor, uint256 minStake_, uint64 unbondingDelay_)
        EIP712("Modelex NodeRegistry", "1")
    {
        if (address(token_) == address(0) || governor == address(0)) revert ZeroAddress();
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(unbondingDelay_);
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        treasury = governor;
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _grantRole(GOVERNOR_ROLE, governor);
    }

    // ---------------------------------------------------------------- operators

    /// @inheritdoc INodeRegistry
    function register(NodeParams calldata params, bytes calldata signerProof, uint256 stake) external {
        if (stake > 0) token.safeTransferFrom(msg.sender, address(this), stake);
        _register(msg.sender, params, signerProof, stake);
    }

    /// @inheritdoc INodeRegistry
    function update(NodeParams calldata params, bytes calldata signerProof) external {
        Node storage node = _nodes[msg.sender];
        if (!node.active) revert NodeNotActive(msg.sender);
        _declare(node, msg.sender, params, signerProof);
        emit NodeUpdated(
            msg.sender,
            params.signer,
            params.peerId,
            params.models,
            params.pricePerMillionInput,
            params.pricePerMillionOutput,
            params.metadataURI
        );
    }

    /// @inheritdoc INodeRegistry
    function addStake(uint256 amount) external {
        token.safeTransferFrom(msg.sender, address(this), amount);
        _addStake(msg.sender, amount);
    }

    /// @inheritdoc IERC677Receiver
    /// @dev `data` is the calldata of `register(params, signerProof, _)` or `addStake(_)`; the amount is what was
    /// sent.
    function onTokenTransfer(address from, uint256 value, bytes calldata data) external {
        if (msg.sender != address(token)) revert OnlyToken();
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (selector == this.register.selector) {
            (NodeParams memory params, bytes memory signerProof,) = abi.decode(data[4:], (NodeParams, bytes, uint256));
            _register(from, params, signerProof, value);
        } else if (selector == this.addStake.selector) {
            _addStake(from, value);
        } else {
            revert UnsupportedTokenAction(selector);
        }
    }

    /// @inheritdoc INodeRegistry
    function unbond(uint256 amount) external {
        Node storage node = _nodes[msg.sender];
        if (!node.active) revert NodeNotActive(msg.sender);
        if (amount == 0) revert ZeroAmount();
        _sync(node);
        uint256 stake = node.stake;
        if (amount > stake) revert AmountExceedsStake(amount, stake);
        uint256 remaining = stake - amount;
        if (!node.whitelisted && remaining < minStake) revert InsufficientStake(remaining, minStake);
        node.stake = remaining;
        node.unbonding += amount;
        uint64 ends = uint64(block.timestamp) + unbondingDelay;
        node.unbondingEnds = ends;
        emit StakeUnbonding(msg.sender, amount, remaining, node.unbonding, ends);
    }

    /// @inheritdoc INodeRegistry
    function deregister() external {
        if (!_nodes[msg.sender].active) revert NodeNotActive(msg.sender);
        _deactivate(msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function withdraw() external {
        Node storage node = _nodes[msg.sender];
        _sync(node);
        uint256 amount = node.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < node.unbondingEnds) revert UnbondingNotFinished(node.unbondingEnds);
        node.unbonding = 0;
        emit StakeWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- verifiers

    /// @inheritdoc INodeRegistry
    function slash(address operator, uint256 amount, address rewardee)
        external
        onlyRole(VERIFIER_ROLE)
        returns (uint256 slashed)
    {
        Node storage node = _nodes[operator];
        if (node.operator == address(0)) revert NodeNotRegistered(operator);
        _sync(node);
        uint256 fromStake = amount < node.stake ? amount : node.stake;
        uint256 fromUnbonding = amount - fromStake < node.unbonding ? amount - fromStake : node.unbonding;
        node.stake -= fromStake;
        node.unbonding -= fromUnbonding;
        slashed = fromStake + fromUnbonding;
        uint256 reward = slashed * proverRewardBps / 10_000;
        emit NodeSlashed(operator, msg.sender, slashed, rewardee, reward);
        if (node.active && !node.whitelisted && node.stake < minStake) _deactivate(operator);
        if (reward > 0) token.safeTransfer(rewardee, reward);
        if (slashed > reward) token.safeTransfer(treasury, slashed - reward);
    }

    // ---------------------------------------------------------------- governor

    /// @inheritdoc INodeRegistry
    function setWhitelisted(address operator, bool whitelisted) external onlyRole(GOVERNOR_ROLE) {
        if (operator == address(0)) revert ZeroAddress();
        Node storage node = _nodes[operator];
        _sync(node);
        node.whitelisted = whitelisted;
        emit WhitelistSet(operator, whitelisted);
        if (!whitelisted && node.active && node.stake < minStake) _deactivate(operator);
    }

    /// @inheritdoc INodeRegistry
    function setMinStake(uint256 minStake_) external onlyRole(GOVERNOR_ROLE) {
        // Active nodes below a raised minimum keep running; the minimum applies when they next change stake.
        minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @inheritdoc INodeRegistry
    function setUnbondingDelay(uint64 unbondingDelay_) external onlyRole(GOVERNOR_ROLE) {
        if (unbondingDelay_ > MAX_UNBONDING_DELAY) revert UnbondingDelayTooLong(unbondingDelay_);
        unbondingDelay = unbondingDelay_;
        emit UnbondingDelaySet(unbondingDelay_);
    }

    /// @inheritdoc INodeRegistry
    function setProverRewardBps(uint256 bps) external onlyRole(GOVERNOR_ROLE) {
        if (bps > MAX_PROVER_REWARD_BPS) revert ProverRewardTooHigh(bps);
        // forge-lint: disable-next-line(unsafe-typecast) bps <= MAX_PROVER_REWARD_BPS
        proverRewardBps = uint16(bps);
        emit ProverRewardSet(bps);
    }

    /// @inheritdoc INodeRegistry
    function setTreasury(address treasury_) external onlyRole(GOVERNOR_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc INodeRegistry
    function getNode(address operator) external view returns (Node memory) {
        return _current(_nodes[operator]);
    }

    /// @inheritdoc INodeRegistry
    function operatorOfSigner(address signer) external view returns (address) {
        address operator = _operatorOfSigner[signer];
        return _nodes[operator].signer == signer ? operator : address(0);
    }

    /// @inheritdoc INodeRegistry
    function slashableOperatorOf(address signer) external view returns (address) {
        return _operatorOfSigner[signer];
    }

    /// @inheritdoc INodeRegistry
    function signerBindingDigest(address operator, address signer, bytes calldata peerId)
        external
        view
        returns (bytes32)
    {
        return _signerBindingDigest(operator, peerId, signerNonces[signer]);
    }

    /// @inheritdoc INodeRegistry
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc INodeRegistry
    function operatorOfPeerId(bytes calldata peerId) external view returns (address) {
        return _operatorOfPeerId[keccak256(peerId)];
    }

    /// @inheritdoc INodeRegistry
    function isActive(address operator) external view returns (bool) {
        return _nodes[operator].active;
    }

    /// @inheritdoc INodeRegistry
    function activeOperatorOf(address account) external view returns (address) {
        if (_nodes[account].active) return account;
        address operator = _operatorOfSigner[account];
        Node storage node = _nodes[operator];
        return operator != address(0) && node.active && node.signer == account ? operator : address(0);
    }

    /// @inheritdoc INodeRegistry
    function servesModel(address operator, bytes32 model) external view returns (bool) {
        Node storage node = _nodes[operator];
        if (!node.active) return false;
        bytes32[] storage models = node.models;
        for (uint256 i; i < models.length; ++i) {
            if (models[i] == model) return true;
        }
        return false;
    }

    /// @inheritdoc INodeRegistry
    function activeNodeCount() external view returns (uint256) {
        return _active.length();
    }

    /// @inheritdoc INodeRegistry
    function activeNodes(uint256 offset, uint256 limit) external view returns (Node[] memory page, uint256 total) {
        total = _active.length();
        uint256 end = offset >= total ? offset : (limit > total - offset ? total : offset + limit);
        page = new Node[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _current(_nodes[_active.at(i)]);
        }
    }

    // ---------------------------------------------------------------- internals

    function _register(address operator, NodeParams memory params, bytes memory signerProof, uint256 stake) private {
        Node storage node = _nodes[operator];
        if (node.active) revert AlreadyRegistered(operator);
        _sync(node);
        uint256 newStake = node.stake + stake;
        if (!node.whitelisted && newStake < minStake) revert InsufficientStake(newStake, minStake);
        node.operator = operator;
        node.active = true;
        node.stake = newStake;
        _declare(node, operator, params, signerProof);
        _active.add(operator);
        emit NodeRegistered(
            operator,
            params.signer,
            params.peerId,
            params.models,
            params.pricePerMillionInput,
            params.pricePerMillionOutput,
            params.metadataURI,
            newStake
        );
    }

    /// @dev Validates and stores what a node declares, keeping the signer and peer id look-ups unique. A signer
    /// other than the node's current one needs its proof of possession; the one it replaces stays bound to the
    /// operator (retired), so it can still be slashed for and never serves another operator.
    function _declare(Node storage node, address operator, NodeParams memory params, bytes memory signerProof) private {
        if (params.signer == address(0)) revert InvalidSigner();
        if (params.peerId.length == 0 || params.peerId.length > MAX_PEER_ID_LENGTH) revert InvalidPeerId();
        if (params.models.length == 0 || params.models.length > MAX_MODELS) {
            revert InvalidModelCount(params.models.length);
        }
        address signerOwner = _operatorOfSigner[params.signer];
        if (signerOwner != address(0) && signerOwner != operator) revert SignerTaken(params.signer, signerOwner);
        bytes32 peerIdHash = keccak256(params.peerId);
        address peerOwner = _operatorOfPeerId[peerIdHash];
        if (peerOwner != address(0) && peerOwner != operator) revert PeerIdTaken(peerOwner);

        if (node.signer != params.signer) {
            _checkSignerProof(operator, params, signerProof);
            if (signerOwner == address(0)) _operatorOfSigner[params.signer] = operator;
            node.signer = params.signer;
        }
        bytes32 oldPeerIdHash = keccak256(node.peerId);
        if (oldPeerIdHash != peerIdHash) {
            if (node.peerId.length != 0) delete _operatorOfPeerId[oldPeerIdHash];
            _operatorOfPeerId[peerIdHash] = operator;
            node.peerId = params.peerId;
        }
        node.models = params.models;
        node.pricePerMillionInput = params.pricePerMillionInput;
        node.pricePerMillionOutput = params.pricePerMillionOutput;
        node.metadataURI = params.metadataURI;
    }

    /// @dev The signer's EIP-712 `SignerBinding` over the operator, the peer id and the signer's next nonce, which
    /// it uses up so the consent cannot be replayed (for example to re-bind a retired signer).
    function _checkSignerProof(address operator, NodeParams memory params, bytes memory signerProof) private {
        uint256 nonce = signerNonces[params.signer]++;
        (address recovered, ECDSA.RecoverError error,) =
            ECDSA.tryRecover(_signerBindingDigest(operator, params.peerId, nonce), signerProof);
        if (error != ECDSA.RecoverError.NoError || recovered != params.signer) {
            revert InvalidSignerProof(params.signer);
        }
    }

    function _signerBindingDigest(address operator, bytes memory peerId, uint256 nonce) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SIGNER_BINDING_TYPEHASH, operator, keccak256(peerId), nonce)));
    }

    function _addStake(address operator, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Node storage node = _nodes[operator];
        if (node.operator == address(0)) revert NodeNotRegistered(operator);
        _sync(node);
        uint256 stake = node.stake + amount;
        node.stake = stake;
        emit StakeAdded(operator, amount, stake);
    }

    /// @dev Stops a node and starts unbonding all its stake. Its signers stay bound to it and its peer id reserved,
    /// so equivocation it committed can still be proven (and its unbonding stake slashed) until it withdraws.
    function _deactivate(address operator) private {
        Node storage node = _nodes[operator];
        _sync(node);
        node.active = false;
        _active.remove(operator);
        uint256 unbonding = node.unbonding + node.stake;
        node.unbonding = unbonding;
        node.stake = 0;
        uint64 ends = uint64(block.timestamp) + unbondingDelay;
        node.unbondingEnds = ends;
        emit NodeDeregistered(operator, unbonding, ends);
    }

    /// @dev Brings a node's stake and unbonding stake to the token's current split epoch.
    function _sync(Node storage node) private {
        uint256 epoch = token.splitEpoch();
        uint32 nodeEpoch = node.splitEpoch;
        if (nodeEpoch == epoch) return;
        uint256 scale = token.scaleSince(nodeEpoch);
        node.stake *= scale;
        node.unbonding *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        node.splitEpoch = uint32(epoch);
    }

    /// @dev A node as the views report it: amounts in current AI.
    function _current(Node storage stored) private view returns (Node memory node) {
        node = stored;
        uint256 epoch = token.splitEpoch();
        if (node.splitEpoch == epoch) return node;
        uint256 scale = token.scaleSince(node.splitEpoch);
        node.stake *= scale;
        node.unbonding *= scale;
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        node.splitEpoch = uint32(epoch);
    }
}

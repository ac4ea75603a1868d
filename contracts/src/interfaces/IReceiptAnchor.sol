// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Receipt} from "../types/Receipt.sol";

/// @title Modelex receipt anchor
/// @notice Nodes anchor Merkle roots of the receipts they signed, so anyone can later prove a receipt was
/// committed to. It owns the EIP-712 domain ("Modelex", "1", chain id, this contract) receipts are signed in, and
/// slashes nodes that sign two different outputs for the same deterministic request.
/// @dev Anchors are keyed by (operator, root): a root anchored by one node says nothing about another, so no one
/// can pre-empt a node's anchor. Equivocation slashes the operator a signer is bound to, retired signers included
/// (`INodeRegistry.slashableOperatorOf`); the prover gets the registry's `proverRewardBps` (at most 10%), the rest
/// goes to the treasury, so a cheater proving its own equivocation still loses at least 90% of its stake.
interface IReceiptAnchor {
    /// @notice An anchored root.
    struct Anchor {
        address operator;
        uint64 count;
        uint32 timestamp;
    }

    /// @notice Emitted when a node anchors a root of `count` receipts.
    event RootAnchored(bytes32 indexed root, address indexed operator, uint64 count);
    /// @notice Emitted when equivocation is proven and the node slashed.
    event EquivocationProven(
        address indexed operator, address indexed signer, bytes32 indexed requestHash, address prover, uint256 slashed
    );

    /// @notice Thrown when the caller is neither the operator nor the signer of an active node.
    error NotRegisteredNode(address caller);
    /// @notice Thrown when anchoring the zero root.
    error EmptyRoot();
    /// @notice Thrown when anchoring a root of zero receipts.
    error ZeroCount();
    /// @notice Thrown when the caller's node already anchored the root.
    error RootAlreadyAnchored(bytes32 root);
    /// @notice Thrown when the two receipts name different signers.
    error SignerMismatch(address signerA, address signerB);
    /// @notice Thrown when the two receipts answer different requests.
    error RequestMismatch();
    /// @notice Thrown when the two receipts are for different models.
    error ModelMismatch();
    /// @notice Thrown when a receipt is not flagged deterministic (its output may legitimately differ).
    error NotDeterministic();
    /// @notice Thrown when the two receipts have the same output, so nothing was equivocated.
    error SameOutput();
    /// @notice Thrown when a receipt's signature does not recover to its `nodeSigner`.
    error InvalidReceiptSignature(address recovered, address nodeSigner);
    /// @notice Thrown when `signer` was never bound to an operator.
    error UnknownSigner(address signer);
    /// @notice Thrown when this equivocation was already proven.
    error AlreadyProven(bytes32 key);

    /// @notice Anchors `root`, a Merkle root over `count` receipt leaves, for the caller's node. Caller: operator or
    /// current signer of an active node.
    function anchor(bytes32 root, uint64 count) external;
    /// @notice Proves that a node signed different outputs for one deterministic request; slashes its whole stake
    /// through the registry (stake and unbonding stake, also for a retired signer), `proverRewardBps` of which
    /// rewards the caller.
    function proveEquivocation(
        Receipt calldata receiptA,
        bytes calldata signatureA,
        Receipt calldata receiptB,
        bytes calldata signatureB
    ) external returns (uint256 slashed);

    /// @notice Whether `operator`'s node anchored `root` and `receiptHash` is in that tree according to `proof`.
    function verifyReceipt(address operator, bytes32 root, bytes32 receiptHash, bytes32[] calldata proof)
        external
        view
        returns (bool);
    /// @notice `operator`'s anchor of `root` (zero values when its node did not anchor it).
    function getAnchor(address operator, bytes32 root) external view returns (Anchor memory);
    /// @notice The EIP-712 digest a node signs for `receipt`: its receipt hash.
    function hashReceipt(Receipt calldata receipt) external view returns (bytes32);
    /// @notice The Merkle leaf of a receipt hash.
    function receiptLeaf(bytes32 receiptHash) external pure returns (bytes32);
    /// @notice The EIP-712 domain separator of receipts.
    function domainSeparator() external view returns (bytes32);
}

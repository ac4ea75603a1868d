// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IReceiptAnchor} from "./interfaces/IReceiptAnchor.sol";
import {TypedHashes} from "./libraries/TypedHashes.sol";
import {Receipt} from "./types/Receipt.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Modelex receipt anchor
/// @notice Merkle roots of signed receipts, inclusion proofs, and equivocation slashing. See {IReceiptAnchor}.
/// @dev A receipt's hash is its EIP-712 digest in this contract's domain; a tree's leaves are
/// `keccak256(keccak256(abi.encode(receiptHash)))` and inner nodes hash sorted pairs (OpenZeppelin MerkleProof).
/// This contract must hold the registry's VERIFIER_ROLE to slash.
contract ReceiptAnchor is IReceiptAnchor, EIP712 {
    using TypedHashes for Receipt;

    /// @notice The registry nodes are looked up in and slashed through.
    INodeRegistry public immutable registry;

    mapping(address operator => mapping(bytes32 root => Anchor)) private _anchors;
    mapping(bytes32 key => bool) private _proven;

    constructor(INodeRegistry registry_) EIP712("Modelex", "1") {
        registry = registry_;
    }

    /// @inheritdoc IReceiptAnchor
    function anchor(bytes32 root, uint64 count) external {
        if (root == bytes32(0)) revert EmptyRoot();
        if (count == 0) revert ZeroCount();
        address operator = registry.activeOperatorOf(msg.sender);
        if (operator == address(0)) revert NotRegisteredNode(msg.sender);
        // Keyed by operator: anyone else anchoring the same root first answers for their own node, not this one.
        if (_anchors[operator][root].operator != address(0)) revert RootAlreadyAnchored(root);
        _anchors[operator][root] = Anchor({operator: operator, count: count, timestamp: uint32(block.timestamp)});
        emit RootAnchored(root, operator, count);
    }

    /// @inheritdoc IReceiptAnchor
    function proveEquivocation(
        Receipt calldata receiptA,
        bytes calldata signatureA,
        Receipt calldata receiptB,
        bytes calldata signatureB
    ) external returns (uint256 slashed) {
        address signer = receiptA.nodeSigner;
        if (receiptB.nodeSigner != signer) revert SignerMismatch(signer, receiptB.nodeSigner);
        if (receiptA.requestHash != receiptB.requestHash) revert RequestMismatch();
        if (receiptA.modelHash != receiptB.modelHash) revert ModelMismatch();
        if (!receiptA.deterministic || !receiptB.deterministic) revert NotDeterministic();
        if (receiptA.outputHash == receiptB.outputHash) revert SameOutput();
        _checkSignature(receiptA, signatureA);
        _checkSignature(receiptB, signatureB);

        // Retired signers count too: rotating the key must not escape the proof.
        address operator = registry.slashableOperatorOf(signer);
        if (operator == address(0)) revert UnknownSigner(signer);
        bytes32 key = keccak256(abi.encode(signer, receiptA.requestHash, receiptA.modelHash));
        if (_proven[key]) revert AlreadyProven(key);
        _proven[key] = true;

        slashed = registry.slash(operator, type(uint256).max, msg.sender);
        emit EquivocationProven(operator, signer, receiptA.requestHash, msg.sender, slashed);
    }

    /// @inheritdoc IReceiptAnchor
    function verifyReceipt(address operator, bytes32 root, bytes32 receiptHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        if (_anchors[operator][root].operator == address(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, TypedHashes.receiptLeaf(receiptHash));
    }

    /// @inheritdoc IReceiptAnchor
    function getAnchor(address operator, bytes32 root) external view returns (Anchor memory) {
        return _anchors[operator][root];
    }

    /// @inheritdoc IReceiptAnchor
    function hashReceipt(Receipt calldata receipt) external view returns (bytes32) {
        return _hashTypedDataV4(receipt.hash());
    }

    /// @inheritdoc IReceiptAnchor
    function receiptLeaf(bytes32 receiptHash) external pure returns (bytes32) {
        return TypedHashes.receiptLeaf(receiptHash);
    }

    /// @inheritdoc IReceiptAnchor
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _checkSignature(Receipt calldata receipt, bytes calldata signature) private view {
        address recovered = ECDSA.recover(_hashTypedDataV4(receipt.hash()), signature);
        if (recovered != receipt.nodeSigner) revert InvalidReceiptSignature(recovered, receipt.nodeSigner);
    }
}

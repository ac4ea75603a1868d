// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice What a node signs for every request it serves. All members are static, so `abi.encode(typehash, r)`
/// lays them out exactly as EIP-712's `encodeData` does.
/// @dev Mirrored by `src/core/receipt.ts`; the EIP-712 domain is ReceiptAnchor's ("Modelex", "1").
struct Receipt {
    bytes32 requestHash;
    bytes32 outputHash;
    bytes32 modelHash;
    address nodeSigner;
    address consumer;
    uint64 promptTokens;
    uint64 completionTokens;
    uint256 cost;
    uint256 channelId;
    uint256 cumulativePaid;
    uint64 timestamp;
    bool deterministic;
}

bytes32 constant RECEIPT_TYPEHASH = keccak256(
    "Receipt(bytes32 requestHash,bytes32 outputHash,bytes32 modelHash,address nodeSigner,address consumer,uint64 promptTokens,uint64 completionTokens,uint256 cost,uint256 channelId,uint256 cumulativePaid,uint64 timestamp,bool deterministic)"
);

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {RECEIPT_TYPEHASH, Receipt} from "../types/Receipt.sol";
import {VOUCHER_TYPEHASH, Voucher} from "../types/Voucher.sol";

/// @title EIP-712 struct hashes and the receipt Merkle leaf
/// @notice The on-chain half of the hashing that `src/core/{receipt,voucher,merkle}.ts` do off-chain.
library TypedHashes {
    /// @notice EIP-712 `hashStruct` of a voucher.
    function hash(Voucher memory voucher) internal pure returns (bytes32) {
        return keccak256(abi.encode(VOUCHER_TYPEHASH, voucher));
    }

    /// @notice EIP-712 `hashStruct` of a receipt.
    function hash(Receipt memory receipt) internal pure returns (bytes32) {
        // A struct of static members encodes in place, so this equals encoding the 12 members one by one
        // (and avoids stack-too-deep without the optimizer, as under `forge coverage`).
        return keccak256(abi.encode(RECEIPT_TYPEHASH, receipt));
    }

    /// @notice The Merkle leaf of a receipt hash: OpenZeppelin StandardMerkleTree's `["bytes32"]` leaf, hashed
    /// twice so that a leaf can never be mistaken for an inner node.
    function receiptLeaf(bytes32 receiptHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(receiptHash))));
    }
}

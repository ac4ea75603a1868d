// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice A consumer's promise that a channel's node may take `cumulativeAmount` in total from the deposit.
/// @dev `cumulativeAmount` is in channel units (AI wei of the split epoch the channel was opened in), like the
/// channel's deposit: a voucher signed before a token split pays `factor` times as many tokens after it. Signed as EIP-712 typed data in the PaymentChannels domain; mirrored by `src/core/voucher.ts`.
struct Voucher {
    uint256 channelId;
    uint256 cumulativeAmount;
}

/// @dev keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)")
bytes32 constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)");

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ERC-677 receiver
/// @notice Implemented by contracts that act on tokens sent to them with `transferAndCall`.
interface IERC677Receiver {
    /// @notice Called by the token after `value` tokens moved from `from` to this contract.
    /// @param from The account whose tokens were transferred (the caller of `transferAndCall`).
    /// @param value The amount transferred.
    /// @param data What the sender asked this contract to do with the tokens.
    function onTokenTransfer(address from, uint256 value, bytes calldata data) external;
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title Modelex AI token
/// @notice Fixed-supply ERC-20 with EIP-2612 permit, ERC-677 `transferAndCall`, and a governed split that scales
/// every balance, allowance and the total supply by an integer factor without iterating over holders.
/// @dev Balances are stored with the split epoch they were last written in and scaled lazily on read. Standard
/// ERC-20 errors come from OpenZeppelin's `IERC20Errors`.
interface IAIToken is IERC20, IERC20Metadata, IERC20Permit {
    /// @notice Emitted when the governor starts a split; transfers pause until `effectiveBlock`.
    event SplitStarted(uint256 factor, uint256 effectiveBlock);

    /// @notice Emitted when a pending split is first settled in storage (at the first transfer after it took effect).
    event SplitExecuted(uint256 factor, uint256 epoch, uint256 scale);

    /// @notice Thrown when a transfer is attempted while a split is pending.
    /// @param effectiveBlock The block from which transfers are possible again.
    error TransfersPaused(uint256 effectiveBlock);

    /// @notice Thrown when a split is started while another one is pending.
    error SplitAlreadyPending();

    /// @notice Thrown when the split factor is not between 2 and `MAX_SPLIT_FACTOR`.
    error InvalidSplitFactor(uint256 factor);

    /// @notice Thrown when a split would push the total supply beyond what balances can hold (2^224 - 1).
    error SplitOverflow(uint256 totalSupply, uint256 factor);

    /// @notice Thrown when the constructor's split pause exceeds `MAX_SPLIT_PAUSE_BLOCKS`.
    error SplitPauseTooLong(uint256 pauseBlocks);

    /// @notice Thrown when `scaleSince` is asked about a split epoch that has not happened.
    error UnknownSplitEpoch(uint256 epoch, uint256 currentEpoch);

    /// @notice Thrown when the treasury or governor given to the constructor is the zero address.
    error ZeroAddress();

    /// @notice Moves `value` tokens to `to` and, when `to` is a contract, calls its `onTokenTransfer`.
    /// @return Always true; failures revert.
    function transferAndCall(address to, uint256 value, bytes calldata data) external returns (bool);

    /// @notice Starts a split by `factor`: transfers pause for `splitPauseBlocks` blocks, then every balance,
    /// allowance and the total supply read `factor` times larger. Governor only.
    /// @dev The Modelex contracts that hold AI keep their books split-aware: NodeRegistry stakes and OracleRouter
    /// fees are stored with the split epoch they were written in and rescaled (by `scaleSince`) when read or
    /// paid out, as balances are here; PaymentChannels keeps each channel in the units of the epoch it was opened
    /// in (vouchers included) and pays `units * scaleSince(openEpoch)`. A split therefore never strands tokens in
    /// them. Other contracts that record AI amounts must do the same or settle before a split.
    function startSplit(uint256 factor) external;

    /// @notice The pending split, if any (`factor` 0 when none).
    function pendingSplit() external view returns (uint256 factor, uint256 effectiveBlock);

    /// @notice How many splits have taken effect.
    function splitEpoch() external view returns (uint256);

    /// @notice The product of all split factors that took effect: one token before any split reads as `scale()`.
    function scale() external view returns (uint256);

    /// @notice How many tokens one token of split epoch `epoch` reads as now: the product of the factors of the
    /// splits that took effect since (1 for the current epoch). Reverts for epochs that have not happened.
    /// @dev What contracts holding AI multiply amounts they recorded in epoch `epoch` by. Exact: factors are integers.
    function scaleSince(uint256 epoch) external view returns (uint256);

    /// @notice The pause of the current or last split: when it started (unix seconds) and the block transfers
    /// resume at (zeros before the first split). Transfers are paused while `block.number < endBlock`.
    /// @dev PaymentChannels uses it to give nodes a full challenge period of redeemable time after a pause that
    /// overlapped a channel's close (a pause is counted in blocks, so its end has no timestamp until observed).
    function splitPause() external view returns (uint256 startedAt, uint256 endBlock);

    /// @notice Whether transfers are paused because a split is pending.
    function transfersPaused() external view returns (bool);

    /// @notice The number of blocks transfers pause for when a split starts.
    function splitPauseBlocks() external view returns (uint256);
}

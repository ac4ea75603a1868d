// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Voucher} from "../types/Voucher.sol";
import {IERC677Receiver} from "./IERC677Receiver.sol";

/// @title Modelex payment channels
/// @notice A consumer locks AI in a channel to one node and pays per request off-chain with EIP-712 vouchers of
/// growing cumulative amounts. The node redeems the latest voucher (only the increase over what it already took)
/// at any time until a close started by the consumer has passed its challenge period; the rest goes back to the
/// consumer.
/// @dev Token splits: a channel counts in its own unit, AI wei as of the token's split epoch when it was opened
/// (`Channel.splitEpoch`). `deposit`, `redeemed` and every voucher's `cumulativeAmount` are in that unit, forever;
/// one unit is worth `unitScale(channelId)` AI wei now (1 until a split). So a voucher signed before a split pays
/// `factor` times as many tokens when redeemed after it: the same share of the value the consumer locked, which is
/// what it signed. Vouchers carry no epoch, so a channel cannot switch units without making outstanding vouchers
/// ambiguous; clients that would rather price in current AI wei close the channel and open a new one.
interface IPaymentChannels is IERC677Receiver {
    /// @notice Where a channel is in its life.
    enum Status {
        None,
        Open,
        Closing,
        Closed
    }

    /// @notice A channel as stored.
    struct Channel {
        address consumer;
        uint64 closesAt;
        Status status;
        address node;
        /// @dev The token's split epoch when the channel was opened: `deposit` and `redeemed` count AI wei of it.
        uint32 splitEpoch;
        uint128 deposit;
        uint128 redeemed;
    }

    /// @notice Emitted when a consumer opens a channel to a node.
    event ChannelOpened(uint256 indexed channelId, address indexed consumer, address indexed node, uint256 deposit);
    /// @notice Emitted when a channel's deposit grows; `amount` is the AI received, `deposit` the new deposit in
    /// channel units.
    event ChannelToppedUp(uint256 indexed channelId, address indexed from, uint256 amount, uint256 deposit);
    /// @notice Emitted when the consumer starts closing a channel.
    event ChannelCloseStarted(uint256 indexed channelId, uint64 closesAt);
    /// @notice Emitted when a channel is closed and the unredeemed deposit refunded; `refund` is in AI.
    event ChannelClosed(uint256 indexed channelId, uint256 refund);
    /// @notice Emitted when a token split paused transfers during a channel's challenge period, so the period
    /// restarted after the pause and now ends at `closesAt`.
    event ChallengePeriodRestarted(uint256 indexed channelId, uint64 closesAt);
    /// @notice Emitted when a voucher is redeemed; `cumulativeAmount` is in channel units, `amount` is the AI paid now.
    event VoucherRedeemed(uint256 indexed channelId, address indexed node, uint256 cumulativeAmount, uint256 amount);

    /// @notice Thrown when no channel has this id.
    error ChannelNotFound(uint256 channelId);
    /// @notice Thrown when starting or ending a challenge period while a token split pauses transfers (until
    /// `endBlock`).
    error SplitPauseActive(uint256 endBlock);
    /// @notice Thrown when the channel is closed.
    error ChannelAlreadyClosed(uint256 channelId);
    /// @notice Thrown when topping up or closing a channel that is already closing.
    error ChannelIsClosing(uint256 channelId);
    /// @notice Thrown when finishing a close that was never started.
    error ChannelNotClosing(uint256 channelId);
    /// @notice Thrown when finishing a close before the challenge period has passed.
    error ChallengePeriodActive(uint256 channelId, uint64 closesAt);
    /// @notice Thrown when redeeming after the challenge period has passed.
    error ChallengePeriodOver(uint256 channelId, uint64 closesAt);
    /// @notice Thrown when someone other than the consumer starts a close.
    error NotChannelConsumer(uint256 channelId, address caller);
    /// @notice Thrown when opening a channel to an operator without an active node.
    error NodeNotActive(address node);
    /// @notice Thrown when a deposit or top-up is zero.
    error ZeroAmount();
    /// @notice Thrown when a voucher is not signed by the channel's consumer.
    error InvalidVoucherSigner(uint256 channelId, address signer);
    /// @notice Thrown when a voucher pays nothing new: its cumulative amount is not above what was redeemed.
    error StaleVoucher(uint256 channelId, uint256 cumulativeAmount, uint256 redeemed);
    /// @notice Thrown when a voucher promises more than the channel's deposit.
    error VoucherExceedsDeposit(uint256 channelId, uint256 cumulativeAmount, uint256 deposit);
    /// @notice Thrown when `redeemMany` gets different numbers of vouchers and signatures.
    error LengthMismatch();
    /// @notice Thrown when `onTokenTransfer` is called by anything but the AI token.
    error OnlyToken();
    /// @notice Thrown when `transferAndCall` data does not start with a supported selector.
    error UnsupportedTokenAction(bytes4 selector);
    /// @notice Thrown when a top-up after a split is not a whole number of channel units (`unitScale` AI each).
    error AmountNotWholeUnits(uint256 amount, uint256 unitScale);

    /// @notice Thrown when a deposit would not fit the channel's 128-bit accounting.
    error DepositTooLarge(uint256 deposit);

    /// @notice Opens a channel from the caller to `node` (an operator with an active node), pulling `amount` AI.
    function open(address node, uint256 amount) external returns (uint256 channelId);
    /// @notice Adds `amount` AI (pulled from the caller) to an open channel. After a split, `amount` must be a
    /// multiple of `unitScale(channelId)`.
    function topUp(uint256 channelId, uint256 amount) external;
    /// @notice Starts closing a channel; the node may still redeem until `challengePeriod` has passed. Consumer only;
    /// not while a token split pauses transfers.
    /// @dev Redeems fail during a split's pause, so the node is owed `challengePeriod` of redeemable time: if a
    /// pause starts inside the window, the window restarts (for another `challengePeriod`) at the first
    /// `finishClose` or `redeem` after the pause, see `ChallengePeriodRestarted`.
    function startClose(uint256 channelId) external;
    /// @notice Closes a channel whose challenge period has passed and refunds the unredeemed deposit to the consumer;
    /// if a split's pause started during the period, restarts it instead (`ChallengePeriodRestarted`, no refund
    /// yet). Reverts while a split pauses transfers.
    function finishClose(uint256 channelId) external;
    /// @notice Pays the channel's node the voucher's increase over what was already redeemed (in channel units,
    /// times `unitScale` in AI). Anyone may submit; the money always goes to the node.
    /// @return amount What was paid, in AI.
    function redeem(Voucher calldata voucher, bytes calldata signature) external returns (uint256 amount);
    /// @notice Redeems many vouchers in one transaction; all succeed or the call reverts.
    /// @return total What was paid in all, in AI.
    function redeemMany(Voucher[] calldata vouchers, bytes[] calldata signatures) external returns (uint256 total);

    /// @notice A channel by id; `deposit` and `redeemed` are in channel units.
    function getChannel(uint256 channelId) external view returns (Channel memory);

    /// @notice How many AI wei one unit of the channel is worth now (1 unless the token split since it was opened).
    function unitScale(uint256 channelId) external view returns (uint256);
    /// @notice The EIP-712 digest a consumer signs for `voucher`.
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32);
    /// @notice The id the next channel will get.
    function nextChannelId() external view returns (uint256);
    /// @notice Seconds between a consumer starting a close and it completing.
    function challengePeriod() external view returns (uint64);
}

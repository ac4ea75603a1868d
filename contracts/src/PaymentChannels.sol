// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "./interfaces/IAIToken.sol";
import {IERC677Receiver} from "./interfaces/IERC677Receiver.sol";
import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IPaymentChannels} from "./interfaces/IPaymentChannels.sol";
import {TypedHashes} from "./libraries/TypedHashes.sol";
import {Voucher} from "./types/Voucher.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title Modelex payment channels
/// @notice Unidirectional AI channels from consumers to nodes, paid off-chain with cumulative vouchers. See
/// {IPaymentChannels}.
/// @dev Vouchers are EIP-712 typed data in the domain ("Modelex", "1", chain id, this contract) and recovered with
/// OpenZeppelin's ECDSA, which rejects malleable (high-s) signatures. Amounts are booked in channel units (AI wei of
/// the split epoch the channel was opened in) and converted with `token.scaleSince` when AI moves. Invariant: the
/// contract's AI balance equals the sum of `(deposit - redeemed) * unitScale` over channels that are not closed.
contract PaymentChannels is IPaymentChannels, EIP712 {
    using SafeERC20 for IAIToken;
    using TypedHashes for Voucher;

    /// @notice The AI token channels are paid in.
    IAIToken public immutable token;
    /// @notice The registry whose active nodes channels may be opened to.
    INodeRegistry public immutable registry;
    /// @inheritdoc IPaymentChannels
    uint64 public immutable challengePeriod;

    /// @inheritdoc IPaymentChannels
    uint256 public nextChannelId = 1;

    mapping(uint256 channelId => Channel) private _channels;

    constructor(IAIToken token_, INodeRegistry registry_, uint64 challengePeriod_) EIP712("Modelex", "1") {
        token = token_;
        registry = registry_;
        challengePeriod = challengePeriod_;
    }

    /// @inheritdoc IPaymentChannels
    function open(address node, uint256 amount) external returns (uint256 channelId) {
        channelId = _open(msg.sender, node, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IPaymentChannels
    function topUp(uint256 channelId, uint256 amount) external {
        _topUp(msg.sender, channelId, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IERC677Receiver
    /// @dev `data` is the calldata of `open(node, _)` or `topUp(channelId, _)`; the amount is what was sent.
    function onTokenTransfer(address from, uint256 value, bytes calldata data) external {
        if (msg.sender != address(token)) revert OnlyToken();
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        if (selector == this.open.selector) {
            (address node,) = abi.decode(data[4:], (address, uint256));
            _open(from, node, value);
        } else if (selector == this.topUp.selector) {
            (uint256 channelId,) = abi.decode(data[4:], (uint256, uint256));
            _topUp(from, channelId, value);
        } else {
            revert UnsupportedTokenAction(selector);
        }
    }

    /// @inheritdoc IPaymentChannels
    function startClose(uint256 channelId) external {
        Channel storage channel = _existing(channelId);
        if (channel.consumer != msg.sender) revert NotChannelConsumer(channelId, msg.sender);
        if (channel.status != Status.Open) revert ChannelIsClosing(channelId);
        // A window must not start inside a pause: `_restartIfPaused` only sees pauses that start within it.
        (, uint256 pauseEndBlock) = token.splitPause();
        if (block.number < pauseEndBlock) revert SplitPauseActive(pauseEndBlock);
        uint64 closesAt = uint64(block.timestamp) + challengePeriod;
        channel.status = Status.Closing;
        channel.closesAt = closesAt;
        emit ChannelCloseStarted(channelId, closesAt);
    }

    /// @inheritdoc IPaymentChannels
    function finishClose(uint256 channelId) external {
        Channel storage channel = _existing(channelId);
        if (channel.status != Status.Closing) revert ChannelNotClosing(channelId);
        if (block.timestamp < channel.closesAt) revert ChallengePeriodActive(channelId, channel.closesAt);
        if (_restartIfPaused(channelId, channel)) return;
        uint256 refund = (channel.deposit - channel.redeemed) * token.scaleSince(channel.splitEpoch);
        channel.status = Status.Closed;
        emit ChannelClosed(channelId, refund);
        if (refund > 0) token.safeTransfer(channel.consumer, refund);
    }

    /// @inheritdoc IPaymentChannels
    function redeem(Voucher calldata voucher, bytes calldata signature) external returns (uint256 amount) {
        address node;
        (node, amount) = _redeem(voucher, signature);
        token.safeTransfer(node, amount);
    }

    /// @inheritdoc IPaymentChannels
    /// @dev Consecutive vouchers for the same node are paid in one transfer, so batching one node's channels
    /// costs one transfer in all.
    function redeemMany(Voucher[] calldata vouchers, bytes[] calldata signatures) external returns (uint256 total) {
        if (vouchers.length != signatures.length) revert LengthMismatch();
        address payee;
        uint256 owed;
        for (uint256 i; i < vouchers.length; ++i) {
            (address node, uint256 amount) = _redeem(vouchers[i], signatures[i]);
            if (node != payee) {
                if (owed > 0) token.safeTransfer(payee, owed);
                payee = node;
                owed = 0;
            }
            owed += amount;
            total += amount;
        }
        if (owed > 0) token.safeTransfer(payee, owed);
    }

    /// @inheritdoc IPaymentChannels
    function getChannel(uint256 channelId) external view returns (Channel memory) {
        return _channels[channelId];
    }

    /// @inheritdoc IPaymentChannels
    function unitScale(uint256 channelId) external view returns (uint256) {
        return token.scaleSince(_existing(channelId).splitEpoch);
    }

    /// @inheritdoc IPaymentChannels
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32) {
        return _hashTypedDataV4(voucher.hash());
    }

    function _open(address consumer, address node, uint256 amount) private returns (uint256 channelId) {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint128).max) revert DepositTooLarge(amount);
        if (!registry.isActive(node)) revert NodeNotActive(node);
        channelId = nextChannelId++;
        // forge-lint: disable-next-line(unsafe-typecast) amount <= type(uint128).max was checked above
        uint128 deposit = uint128(amount);
        // forge-lint: disable-next-line(unsafe-typecast) splits are few (each multiplies the supply by 2 or more)
        uint32 epoch = uint32(token.splitEpoch());
        _channels[channelId] = Channel({
            consumer: consumer,
            closesAt: 0,
            status: Status.Open,
            node: node,
            splitEpoch: epoch,
            deposit: deposit,
            redeemed: 0
        });
        emit ChannelOpened(channelId, consumer, node, amount);
    }

    function _topUp(address from, uint256 channelId, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Channel storage channel = _existing(channelId);
        if (channel.status != Status.Open) revert ChannelIsClosing(channelId);
        uint256 scale = token.scaleSince(channel.splitEpoch);
        if (amount % scale != 0) revert AmountNotWholeUnits(amount, scale);
        uint256 deposit = channel.deposit + amount / scale;
        if (deposit > type(uint128).max) revert DepositTooLarge(deposit);
        // forge-lint: disable-next-line(unsafe-typecast) checked against type(uint128).max above
        channel.deposit = uint128(deposit);
        emit ChannelToppedUp(channelId, from, amount, deposit);
    }

    /// @dev Checks a voucher and books its increase (in channel units); the caller pays out `amount` AI.
    function _redeem(Voucher calldata voucher, bytes calldata signature)
        private
        returns (address node, uint256 amount)
    {
        uint256 channelId = voucher.channelId;
        Channel storage channel = _existing(channelId);
        Status status = channel.status;
        if (status == Status.Closed) revert ChannelAlreadyClosed(channelId);
        if (status == Status.Closing && block.timestamp >= channel.closesAt && !_restartIfPaused(channelId, channel)) {
            revert ChallengePeriodOver(channelId, channel.closesAt);
        }
        address signer = ECDSA.recover(_hashTypedDataV4(voucher.hash()), signature);
        if (signer != channel.consumer) revert InvalidVoucherSigner(channelId, signer);
        uint256 cumulative = voucher.cumulativeAmount;
        uint256 redeemed = channel.redeemed;
        if (cumulative <= redeemed) revert StaleVoucher(channelId, cumulative, redeemed);
        if (cumulative > channel.deposit) revert VoucherExceedsDeposit(channelId, cumulative, channel.deposit);
        // forge-lint: disable-next-line(unsafe-typecast) cumulative <= deposit, a uint128
        channel.redeemed = uint128(cumulative);
        node = channel.node;
        amount = (cumulative - redeemed) * token.scaleSince(channel.splitEpoch);
        emit VoucherRedeemed(channelId, node, cumulative, amount);
    }

    /// @dev Called once a closing channel's window is over. Redeems fail while a split pauses transfers, so a window
    /// that a pause started in did not give the node `challengePeriod` of redeemable time: it restarts now (after the
    /// pause, which has no timestamp for its end until someone observes it) and the call reports true. Pauses that
    /// started before the window ended before it (`startClose` refuses to start one inside a pause); a restarted
    /// window starts after the pause, so each pause restarts a window at most once.
    function _restartIfPaused(uint256 channelId, Channel storage channel) private returns (bool) {
        (uint256 pauseStartedAt, uint256 pauseEndBlock) = token.splitPause();
        if (block.number < pauseEndBlock) revert SplitPauseActive(pauseEndBlock);
        uint64 closesAt = channel.closesAt;
        if (pauseStartedAt < closesAt - challengePeriod || pauseStartedAt >= closesAt) return false;
        closesAt = uint64(block.timestamp) + challengePeriod;
        channel.closesAt = closesAt;
        emit ChallengePeriodRestarted(channelId, closesAt);
        return true;
    }

    function _existing(uint256 channelId) private view returns (Channel storage channel) {
        channel = _channels[channelId];
        if (channel.status == Status.None) revert ChannelNotFound(channelId);
    }
}

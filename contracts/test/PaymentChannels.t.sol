// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "../src/interfaces/IAIToken.sol";
import {IPaymentChannels} from "../src/interfaces/IPaymentChannels.sol";
import {Voucher} from "../src/types/Voucher.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

contract PaymentChannelsTest is BaseTest {
    address internal node;
    address internal consumer;
    uint256 internal consumerKey;
    uint256 internal channelId;

    uint256 internal constant DEPOSIT = 100e18;
    /// @dev secp256k1 order, to build the malleable twin of a signature.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public override {
        super.setUp();
        (node,,) = _registerNode("node");
        (consumer, consumerKey) = makeAddrAndKey("consumer");
        channelId = _openChannel(consumer, node, DEPOSIT);
    }

    function _redeem(uint256 cumulative) internal returns (uint256) {
        return channels.redeem(Voucher(channelId, cumulative), _signVoucher(consumerKey, channelId, cumulative));
    }

    // ------------------------------------------------------------ open / top up

    function test_open_storesChannel() public view {
        IPaymentChannels.Channel memory channel = channels.getChannel(channelId);
        assertEq(channel.consumer, consumer);
        assertEq(channel.node, node);
        assertEq(channel.deposit, DEPOSIT);
        assertEq(channel.redeemed, 0);
        assertEq(uint8(channel.status), uint8(IPaymentChannels.Status.Open));
        assertEq(channels.nextChannelId(), channelId + 1);
        assertEq(channels.challengePeriod(), CHALLENGE_PERIOD);
        assertEq(token.balanceOf(address(channels)), DEPOSIT);
    }

    function test_open_emits() public {
        _fund(alice, 5);
        vm.startPrank(alice);
        token.approve(address(channels), 5);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelOpened(channelId + 1, alice, node, 5);
        channels.open(node, 5);
        vm.stopPrank();
    }

    function test_open_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(IPaymentChannels.ZeroAmount.selector);
        channels.open(node, 0);
    }

    function test_open_revertsForInactiveNode() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.NodeNotActive.selector, bob));
        channels.open(bob, 1);
    }

    function test_open_revertsWhenDepositTooLarge() public {
        uint256 amount = uint256(type(uint128).max) + 1;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.DepositTooLarge.selector, amount));
        channels.open(node, amount);
    }

    function test_open_viaTransferAndCall() public {
        _fund(alice, 7);
        vm.prank(alice);
        token.transferAndCall(address(channels), 7, abi.encodeCall(IPaymentChannels.open, (node, 0)));
        IPaymentChannels.Channel memory channel = channels.getChannel(channelId + 1);
        assertEq(channel.consumer, alice);
        assertEq(channel.deposit, 7);
    }

    function test_topUp_addsToDeposit() public {
        _fund(alice, 5);
        vm.startPrank(alice);
        token.approve(address(channels), 5);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelToppedUp(channelId, alice, 5, DEPOSIT + 5);
        channels.topUp(channelId, 5);
        vm.stopPrank();
        assertEq(channels.getChannel(channelId).deposit, DEPOSIT + 5);
    }

    function test_topUp_viaTransferAndCall() public {
        _fund(consumer, 5);
        vm.prank(consumer);
        token.transferAndCall(address(channels), 5, abi.encodeCall(IPaymentChannels.topUp, (channelId, 0)));
        assertEq(channels.getChannel(channelId).deposit, DEPOSIT + 5);
    }

    function test_topUp_reverts() public {
        vm.startPrank(consumer);
        vm.expectRevert(IPaymentChannels.ZeroAmount.selector);
        channels.topUp(channelId, 0);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotFound.selector, 999));
        channels.topUp(999, 1);
        channels.startClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelIsClosing.selector, channelId));
        channels.topUp(channelId, 1);
        vm.stopPrank();
    }

    function test_topUp_revertsWhenDepositTooLarge() public {
        uint256 amount = type(uint128).max;
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.DepositTooLarge.selector, amount + DEPOSIT));
        channels.topUp(channelId, amount);
    }

    function test_onTokenTransfer_reverts() public {
        vm.expectRevert(IPaymentChannels.OnlyToken.selector);
        channels.onTokenTransfer(alice, 1, "");
        _fund(alice, 2);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.UnsupportedTokenAction.selector, bytes4(0)));
        token.transferAndCall(address(channels), 1, "");
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.UnsupportedTokenAction.selector, bytes4(0x12345678)));
        token.transferAndCall(address(channels), 1, hex"12345678");
        vm.stopPrank();
    }

    // ------------------------------------------------------------ redeem

    function test_redeem_paysIncreaseOnly() public {
        vm.expectEmit(address(channels));
        emit IPaymentChannels.VoucherRedeemed(channelId, node, 10e18, 10e18);
        assertEq(_redeem(10e18), 10e18);
        assertEq(_redeem(25e18), 15e18);
        assertEq(token.balanceOf(node), 25e18);
        assertEq(channels.getChannel(channelId).redeemed, 25e18);
        assertEq(token.balanceOf(address(channels)), DEPOSIT - 25e18);
    }

    function test_redeem_revertsOnStaleVoucher() public {
        _redeem(10e18);
        bytes memory signature = _signVoucher(consumerKey, channelId, 10e18);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.StaleVoucher.selector, channelId, 10e18, 10e18));
        channels.redeem(Voucher(channelId, 10e18), signature);
        signature = _signVoucher(consumerKey, channelId, 5e18);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.StaleVoucher.selector, channelId, 5e18, 10e18));
        channels.redeem(Voucher(channelId, 5e18), signature);
    }

    function test_redeem_revertsAboveDeposit() public {
        bytes memory signature = _signVoucher(consumerKey, channelId, DEPOSIT + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.VoucherExceedsDeposit.selector, channelId, DEPOSIT + 1, DEPOSIT)
        );
        channels.redeem(Voucher(channelId, DEPOSIT + 1), signature);
    }

    function test_redeem_revertsOnWrongSigner() public {
        (address stranger, uint256 strangerKey) = makeAddrAndKey("stranger");
        bytes memory signature = _signVoucher(strangerKey, channelId, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.InvalidVoucherSigner.selector, channelId, stranger));
        channels.redeem(Voucher(channelId, 1), signature);
    }

    function test_redeem_revertsOnVoucherForAnotherChannel() public {
        uint256 other = _openChannel(consumer, node, 1e18);
        // A signature over channel `other` does not recover to the consumer for `channelId`.
        bytes memory signature = _signVoucher(consumerKey, other, 1);
        Voucher memory voucher = Voucher(channelId, 1);
        address recovered = ECDSA.recover(channels.voucherDigest(voucher), signature);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.InvalidVoucherSigner.selector, channelId, recovered));
        channels.redeem(voucher, signature);
    }

    function test_redeem_revertsOnMalleableSignature() public {
        bytes32 digest = channels.voucherDigest(Voucher(channelId, 1));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(consumerKey, digest);
        bytes32 highS = bytes32(N - uint256(s));
        bytes memory twin = abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, highS));
        channels.redeem(Voucher(channelId, 1), twin);
    }

    function test_redeem_revertsOnBadSignatureLength() public {
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 3));
        channels.redeem(Voucher(channelId, 1), hex"010203");
    }

    function test_redeem_revertsOnUnknownChannel() public {
        bytes memory signature = _signVoucher(consumerKey, 42, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotFound.selector, 42));
        channels.redeem(Voucher(42, 1), signature);
    }

    function test_redeem_duringChallengePeriod() public {
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD - 1);
        assertEq(_redeem(3e18), 3e18);
    }

    function test_redeem_revertsAfterChallengePeriod() public {
        vm.prank(consumer);
        channels.startClose(channelId);
        uint64 closesAt = uint64(block.timestamp) + CHALLENGE_PERIOD;
        vm.warp(closesAt);
        bytes memory signature = _signVoucher(consumerKey, channelId, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChallengePeriodOver.selector, channelId, closesAt));
        channels.redeem(Voucher(channelId, 1), signature);
    }

    function test_redeem_revertsOnClosedChannel() public {
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        channels.finishClose(channelId);
        bytes memory signature = _signVoucher(consumerKey, channelId, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelAlreadyClosed.selector, channelId));
        channels.redeem(Voucher(channelId, 1), signature);
    }

    function test_redeem_boundToThisContract() public {
        // The same voucher signed for another PaymentChannels deployment (another domain) is rejected here.
        bytes32 structHash = keccak256(
            abi.encode(keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)"), channelId, uint256(1))
        );
        bytes32 otherDomain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Modelex"),
                keccak256("1"),
                block.chainid,
                address(0xBEEF)
            )
        );
        bytes memory signature = _sign(consumerKey, keccak256(abi.encodePacked("\x19\x01", otherDomain, structHash)));
        vm.expectRevert();
        channels.redeem(Voucher(channelId, 1), signature);
        assertEq(channels.getChannel(channelId).redeemed, 0);
    }

    function testFuzz_redeem(uint256 first, uint256 second) public {
        first = bound(first, 1, DEPOSIT);
        second = bound(second, 0, DEPOSIT);
        _redeem(first);
        if (second <= first) {
            bytes memory signature = _signVoucher(consumerKey, channelId, second);
            vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.StaleVoucher.selector, channelId, second, first));
            channels.redeem(Voucher(channelId, second), signature);
        } else {
            assertEq(_redeem(second), second - first);
        }
        uint256 paid = second > first ? second : first;
        assertEq(token.balanceOf(node), paid);
        assertEq(token.balanceOf(address(channels)), DEPOSIT - paid);
    }

    // ------------------------------------------------------------ redeemMany

    function test_redeemMany_paysEveryChannelInOneCall() public {
        (address node2,,) = _registerNode("node2");
        uint256 second = _openChannel(consumer, node, 10e18);
        uint256 third = _openChannel(consumer, node2, 10e18);
        Voucher[] memory vouchers = new Voucher[](3);
        bytes[] memory signatures = new bytes[](3);
        vouchers[0] = Voucher(channelId, 4e18);
        vouchers[1] = Voucher(second, 5e18);
        vouchers[2] = Voucher(third, 6e18);
        for (uint256 i; i < 3; ++i) {
            signatures[i] = _signVoucher(consumerKey, vouchers[i].channelId, vouchers[i].cumulativeAmount);
        }
        assertEq(channels.redeemMany(vouchers, signatures), 15e18);
        assertEq(token.balanceOf(node), 9e18);
        assertEq(token.balanceOf(node2), 6e18);
    }

    function test_redeemMany_revertsOnLengthMismatch() public {
        vm.expectRevert(IPaymentChannels.LengthMismatch.selector);
        channels.redeemMany(new Voucher[](1), new bytes[](0));
    }

    function test_redeemMany_revertsWhenOneVoucherPaysTwice() public {
        Voucher[] memory vouchers = new Voucher[](2);
        bytes[] memory signatures = new bytes[](2);
        vouchers[0] = Voucher(channelId, 4e18);
        vouchers[1] = Voucher(channelId, 4e18);
        signatures[0] = _signVoucher(consumerKey, channelId, 4e18);
        signatures[1] = signatures[0];
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.StaleVoucher.selector, channelId, 4e18, 4e18));
        channels.redeemMany(vouchers, signatures);
    }

    function test_redeemMany_emptyPaysNothing() public {
        assertEq(channels.redeemMany(new Voucher[](0), new bytes[](0)), 0);
    }

    // ------------------------------------------------------------ close

    function test_startClose_setsDeadline() public {
        uint64 closesAt = uint64(block.timestamp) + CHALLENGE_PERIOD;
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelCloseStarted(channelId, closesAt);
        vm.prank(consumer);
        channels.startClose(channelId);
        IPaymentChannels.Channel memory channel = channels.getChannel(channelId);
        assertEq(uint8(channel.status), uint8(IPaymentChannels.Status.Closing));
        assertEq(channel.closesAt, closesAt);
    }

    function test_startClose_reverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.NotChannelConsumer.selector, channelId, alice));
        channels.startClose(channelId);
        vm.startPrank(consumer);
        channels.startClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelIsClosing.selector, channelId));
        channels.startClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotFound.selector, 77));
        channels.startClose(77);
        vm.stopPrank();
    }

    function test_finishClose_refundsRest() public {
        _redeem(30e18);
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelClosed(channelId, 70e18);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(consumer), 70e18);
        assertEq(token.balanceOf(address(channels)), 0);
        assertEq(uint8(channels.getChannel(channelId).status), uint8(IPaymentChannels.Status.Closed));
    }

    function test_finishClose_fullyRedeemedRefundsNothing() public {
        _redeem(DEPOSIT);
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(consumer), 0);
    }

    function test_finishClose_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotClosing.selector, channelId));
        channels.finishClose(channelId);
        vm.prank(consumer);
        channels.startClose(channelId);
        uint64 closesAt = uint64(block.timestamp) + CHALLENGE_PERIOD;
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChallengePeriodActive.selector, channelId, closesAt));
        channels.finishClose(channelId);
        vm.warp(closesAt);
        channels.finishClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotClosing.selector, channelId));
        channels.finishClose(channelId);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotFound.selector, 5));
        channels.finishClose(5);
    }

    // ------------------------------------------------------------ splits

    function test_redeem_afterSplitPaysVoucherSignedBeforeScaled() public {
        _redeem(10e18);
        // Signed before the split, in the channel's unit (pre-split AI wei).
        bytes memory signature = _signVoucher(consumerKey, channelId, 30e18);
        _splitNow(3);
        assertEq(channels.unitScale(channelId), 3);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.VoucherRedeemed(channelId, node, 30e18, 60e18);
        uint256 paid = channels.redeem(Voucher(channelId, 30e18), signature);
        assertEq(paid, 60e18);
        assertEq(token.balanceOf(node), 10e18 * 3 + 60e18);
        IPaymentChannels.Channel memory channel = channels.getChannel(channelId);
        assertEq(channel.redeemed, 30e18);
        assertEq(channel.deposit, DEPOSIT);
        assertEq(channel.splitEpoch, 0);
        // The channel still holds exactly its unredeemed units, in current AI.
        assertEq(token.balanceOf(address(channels)), (DEPOSIT - 30e18) * 3);
        // A voucher signed after the split is in the same unit; the old one stays stale.
        assertEq(_redeem(DEPOSIT), (DEPOSIT - 30e18) * 3);
        assertEq(token.balanceOf(address(channels)), 0);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.StaleVoucher.selector, channelId, 30e18, DEPOSIT));
        channels.redeem(Voucher(channelId, 30e18), signature);
    }

    function test_redeem_revertsWhileSplitPending() public {
        bytes memory signature = _signVoucher(consumerKey, channelId, 1e18);
        vm.prank(governor);
        token.startSplit(2);
        uint256 effective = block.number + PAUSE_BLOCKS;
        vm.expectRevert(abi.encodeWithSelector(IAIToken.TransfersPaused.selector, effective));
        channels.redeem(Voucher(channelId, 1e18), signature);
        vm.roll(effective);
        assertEq(channels.redeem(Voucher(channelId, 1e18), signature), 2e18);
    }

    function test_redeemMany_afterSplitScalesEachChannel() public {
        _splitNow(2);
        uint256 second = _openChannel(consumer, node, 5e18);
        assertEq(channels.getChannel(second).splitEpoch, 1);
        assertEq(channels.unitScale(second), 1);
        Voucher[] memory vouchers = new Voucher[](2);
        bytes[] memory signatures = new bytes[](2);
        vouchers[0] = Voucher(channelId, 1e18);
        vouchers[1] = Voucher(second, 1e18);
        signatures[0] = _signVoucher(consumerKey, channelId, 1e18);
        signatures[1] = _signVoucher(consumerKey, second, 1e18);
        assertEq(channels.redeemMany(vouchers, signatures), 3e18);
        assertEq(token.balanceOf(node), 3e18);
    }

    function test_topUp_afterSplitInWholeUnits() public {
        _splitNow(4);
        _fund(consumer, 9e18);
        vm.startPrank(consumer);
        token.approve(address(channels), 9e18);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelToppedUp(channelId, consumer, 8e18, DEPOSIT + 2e18);
        channels.topUp(channelId, 8e18);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.AmountNotWholeUnits.selector, 1, 4));
        channels.topUp(channelId, 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.AmountNotWholeUnits.selector, 1, 4));
        token.transferAndCall(address(channels), 1, abi.encodeCall(channels.topUp, (channelId, 0)));
        vm.stopPrank();
        assertEq(channels.getChannel(channelId).deposit, DEPOSIT + 2e18);
        assertEq(token.balanceOf(address(channels)), (DEPOSIT + 2e18) * 4);
    }

    function test_finishClose_afterSplitRefundsScaled() public {
        _redeem(30e18);
        _splitNow(5);
        vm.warp(block.timestamp + 1); // each block has a later timestamp than its parent
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelClosed(channelId, 70e18 * 5);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(consumer), 70e18 * 5);
        assertEq(token.balanceOf(address(channels)), 0);
    }

    /// @dev The attack: the consumer starts closing, a split's pause outlasts the challenge period, and the consumer
    /// finishes the close right after the pause, before the node could redeem. The window restarts instead, so the
    /// node gets a whole challenge period of redeemable time after the pause.
    function test_finishClose_splitDuringCloseRestartsChallengePeriod() public {
        bytes memory signature = _signVoucher(consumerKey, channelId, 60e18);
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD / 2);
        vm.prank(governor);
        token.startSplit(2);
        uint256 pauseEnd = block.number + PAUSE_BLOCKS;
        // The pause outlasts the window: redeeming fails throughout it.
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.SplitPauseActive.selector, pauseEnd));
        channels.redeem(Voucher(channelId, 60e18), signature);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.SplitPauseActive.selector, pauseEnd));
        channels.finishClose(channelId);

        vm.roll(pauseEnd);
        vm.warp(block.timestamp + 1);
        uint64 restartedUntil = uint64(block.timestamp) + CHALLENGE_PERIOD;
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChallengePeriodRestarted(channelId, restartedUntil);
        vm.prank(consumer);
        channels.finishClose(channelId);
        assertEq(uint8(channels.getChannel(channelId).status), uint8(IPaymentChannels.Status.Closing));
        assertEq(token.balanceOf(consumer), 0);

        // The node redeems within the restarted window, after which the consumer gets only the rest.
        vm.warp(restartedUntil - 1);
        assertEq(channels.redeem(Voucher(channelId, 60e18), signature), 60e18 * 2);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.ChallengePeriodActive.selector, channelId, restartedUntil)
        );
        channels.finishClose(channelId);
        vm.warp(restartedUntil);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(consumer), 40e18 * 2);
        assertEq(token.balanceOf(node), 60e18 * 2);
    }

    /// @dev The node may be first after the pause: its redeem restarts the window and pays.
    function test_redeem_afterPausedWindowRestartsIt() public {
        vm.prank(consumer);
        channels.startClose(channelId);
        _splitNow(3);
        vm.warp(block.timestamp + CHALLENGE_PERIOD + 1);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChallengePeriodRestarted(channelId, uint64(block.timestamp) + CHALLENGE_PERIOD);
        assertEq(_redeem(10e18), 30e18);
        // The restart happens once per pause: the restarted window ends normally.
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        bytes memory late = _signVoucher(consumerKey, channelId, 20e18);
        vm.expectRevert(
            abi.encodeWithSelector(IPaymentChannels.ChallengePeriodOver.selector, channelId, block.timestamp)
        );
        channels.redeem(Voucher(channelId, 20e18), late);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(consumer), 90e18 * 3);
    }

    /// @dev A pause that starts after the window ended took nothing from the node.
    function test_finishClose_splitAfterWindowDoesNotRestart() public {
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        _splitNow(2);
        vm.warp(block.timestamp + 1);
        vm.expectEmit(address(channels));
        emit IPaymentChannels.ChannelClosed(channelId, DEPOSIT * 2);
        channels.finishClose(channelId);
    }

    function test_startClose_revertsWhileSplitPending() public {
        vm.prank(governor);
        token.startSplit(2);
        vm.prank(consumer);
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.SplitPauseActive.selector, block.number + PAUSE_BLOCKS));
        channels.startClose(channelId);
    }

    function test_unitScale_revertsOnUnknownChannel() public {
        vm.expectRevert(abi.encodeWithSelector(IPaymentChannels.ChannelNotFound.selector, 9));
        channels.unitScale(9);
    }

    /// @dev Across any split, a channel pays out exactly the AI it holds, however the redeems fall around it.
    function testFuzz_redeem_acrossSplit(uint256 factor, uint256 before, uint256 later) public {
        factor = bound(factor, 2, 1000);
        before = bound(before, 0, DEPOSIT);
        later = bound(later, before, DEPOSIT);
        if (before > 0) _redeem(before);
        _splitNow(factor);
        vm.warp(block.timestamp + 1); // each block has a later timestamp than its parent
        if (later > before) assertEq(_redeem(later), (later - before) * factor);
        vm.prank(consumer);
        channels.startClose(channelId);
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        channels.finishClose(channelId);
        assertEq(token.balanceOf(node), later * factor);
        assertEq(token.balanceOf(consumer), (DEPOSIT - later) * factor);
        assertEq(token.balanceOf(address(channels)), 0);
    }
}

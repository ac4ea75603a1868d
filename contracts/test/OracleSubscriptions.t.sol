// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {OracleTest} from "./utils/OracleTest.sol";

contract OracleSubscriptionsTest is OracleTest {
    uint32 internal constant PERIOD = 1 days;
    address internal keeper = makeAddr("keeper");

    function setUp() public override {
        super.setUp();
        _fund(alice, 100 * FEE);
        vm.prank(alice);
        token.approve(address(router), type(uint256).max);
    }

    function _params(uint32 rounds) internal view returns (IOracleRouter.SubscriptionParams memory) {
        return IOracleRouter.SubscriptionParams({
            templateHash: templateHash,
            datasetHash: keccak256("headlines"),
            windowSeconds: 90 days,
            start: uint64(block.timestamp + 1 hours),
            period: PERIOD,
            rounds: rounds,
            k: 3,
            commitWindow: 1 hours,
            revealWindow: 1 hours,
            callbackGasLimit: 100_000,
            feePerRound: FEE,
            params: "ETH"
        });
    }

    function _subscribe(uint32 rounds) internal returns (uint256 sid) {
        vm.prank(alice);
        sid = router.createSubscription(_params(rounds));
    }

    function test_createSubscription_storesAndPullsAllRounds() public {
        IOracleRouter.SubscriptionParams memory p = _params(3);
        vm.expectEmit(address(router));
        emit IOracleRouter.SubscriptionCreated(1, alice, templateHash, p);
        uint256 sid = _subscribe(3);
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        assertEq(sub.owner, alice);
        assertEq(sub.balance, 3 * FEE);
        assertEq(sub.feePerRound, FEE);
        assertEq(sub.rounds, 3);
        assertEq(sub.params, bytes("ETH"));
        assertEq(token.balanceOf(address(router)), 3 * FEE);
        assertEq(router.nextSubscriptionId(), 2);
    }

    function test_createSubscription_reverts() public {
        IOracleRouter.SubscriptionParams memory p = _params(2);
        vm.startPrank(alice);
        p.templateHash = bytes32(uint256(5));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownTemplate.selector, bytes32(uint256(5))));
        router.createSubscription(p);
        p = _params(2);
        p.k = 1;
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 1, 3));
        router.createSubscription(p);
        p = _params(2);
        p.feePerRound = 0;
        vm.expectRevert(IOracleRouter.ZeroFee.selector);
        router.createSubscription(p);
        p = _params(2);
        p.callbackGasLimit = 2_000_001;
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CallbackGasTooHigh.selector, 2_000_001));
        router.createSubscription(p);
        IOracleRouter.SubscriptionParams[6] memory bad;
        for (uint256 i; i < 6; ++i) {
            bad[i] = _params(2);
        }
        bad[0].rounds = 0;
        bad[1].period = 0;
        bad[2].start = uint64(block.timestamp - 1);
        bad[3].commitWindow = 0;
        bad[4].revealWindow = 31 days;
        bad[5].params = new bytes(1025);
        for (uint256 i; i < 6; ++i) {
            vm.expectRevert(IOracleRouter.InvalidSchedule.selector);
            router.createSubscription(bad[i]);
        }
        vm.stopPrank();
    }

    function test_openRound_createsTheRoundRequestWithItsWindow() public {
        vm.warp(200 days);
        uint256 sid = _subscribe(2);
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        vm.warp(sub.start + PERIOD + 5);
        uint64 windowEnd = sub.start + PERIOD;
        vm.expectEmit(address(router));
        emit IOracleRouter.RoundOpened(sid, 1, 1, windowEnd - 90 days, windowEnd);
        vm.prank(keeper);
        uint256 id = router.openRound(sid, 1);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(req.requester, alice);
        assertEq(req.subscriptionId, sid);
        assertEq(req.round, 1);
        assertEq(req.k, 3);
        assertEq(req.fee, FEE);
        assertEq(req.commitDeadline, block.timestamp + 1 hours);
        assertEq(req.revealDeadline, block.timestamp + 2 hours);
        (uint256 s, uint32 r) = router.roundOfRequest(id);
        assertEq(s, sid);
        assertEq(r, 1);
        assertEq(router.getSubscription(sid).balance, FEE);
        IOracleRouter.Round memory round = router.getRound(sid, 1);
        assertEq(uint8(round.status), uint8(IOracleRouter.RoundStatus.Open));
        assertEq(round.requestId, id);
        assertEq(round.opensAt, windowEnd);
    }

    /// @dev Attack: opening a round before its time, twice, after its slot, or beyond the last round.
    function test_openRound_refusesEarlyTwiceLateAndBeyond() public {
        uint256 sid = _subscribe(2);
        uint64 start = router.getSubscription(sid).start;
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundNotDue.selector, sid, 0, start));
        router.openRound(sid, 0);
        vm.warp(start);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundNotDue.selector, sid, 1, start + PERIOD));
        router.openRound(sid, 1);
        router.openRound(sid, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundAlreadyOpened.selector, sid, 0));
        router.openRound(sid, 0);
        vm.warp(start + 2 * PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundExpired.selector, sid, 1));
        router.openRound(sid, 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundExpired.selector, sid, 2));
        router.openRound(sid, 2);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownSubscription.selector, 9));
        router.openRound(9, 0);
    }

    function testFuzz_openRound_onlyDuringItsSlot(uint32 round, uint64 at) public {
        uint256 sid = _subscribe(5);
        uint64 start = router.getSubscription(sid).start;
        round = uint32(bound(round, 0, 4));
        at = uint64(bound(at, block.timestamp, start + 6 * uint64(PERIOD)));
        vm.warp(at);
        uint64 opensAt = start + round * PERIOD;
        if (at < opensAt) {
            vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundNotDue.selector, sid, round, opensAt));
        } else if (at >= opensAt + PERIOD) {
            vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundExpired.selector, sid, round));
        }
        router.openRound(sid, round);
    }

    function test_rounds_fulfilledMissedSkippedAndListed() public {
        uint256 sid = _subscribe(4);
        uint64 start = router.getSubscription(sid).start;
        IOracleRouter.Round[] memory rounds = router.getRounds(sid, 0, 10);
        // The first rounds' windows are clipped at time 0.
        assertEq(rounds[0].opensAt, start);
        assertEq(rounds.length, 4);
        assertEq(uint8(rounds[0].status), uint8(IOracleRouter.RoundStatus.Scheduled));

        vm.warp(start);
        assertEq(uint8(router.getRound(sid, 0).status), uint8(IOracleRouter.RoundStatus.Openable));
        uint256 r0 = router.openRound(sid, 0);
        _answer(r0, _values3(4, 8, 6));

        vm.warp(start + PERIOD);
        uint256 r1 = router.openRound(sid, 1);
        _commit(r1, nodes[0], 1);
        _commit(r1, nodes[1], 2);
        _commit(r1, nodes[2], 3);
        _reveal(r1, nodes[0], 1);
        vm.warp(router.getRequest(r1).revealDeadline + 1);
        vm.expectEmit(address(router));
        emit IOracleRouter.RoundMissed(sid, 1, r1, FEE - FEE / 3);
        router.finalize(r1);

        // Round 2 is never opened in its slot: skipped, its fee stays in the balance.
        vm.warp(start + 3 * PERIOD);
        rounds = router.getRounds(sid, 0, 4);
        assertEq(uint8(rounds[0].status), uint8(IOracleRouter.RoundStatus.Fulfilled));
        assertEq(rounds[0].result, 6);
        assertEq(rounds[0].requestId, r0);
        assertEq(uint8(rounds[1].status), uint8(IOracleRouter.RoundStatus.Missed));
        assertEq(uint8(rounds[2].status), uint8(IOracleRouter.RoundStatus.Skipped));
        assertEq(uint8(rounds[3].status), uint8(IOracleRouter.RoundStatus.Openable));
        assertEq(router.getSubscription(sid).balance, 2 * FEE + FEE - FEE / 3);
        assertEq(router.getRounds(sid, 3, 5).length, 1);
        assertEq(router.getRounds(sid, 4, 5).length, 0);
    }

    function test_cancelSubscription_withdrawsNowAndRefundsOfOpenRoundsLater() public {
        uint256 sid = _subscribe(3);
        vm.warp(router.getSubscription(sid).start);
        uint256 r0 = router.openRound(sid, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotSubscriptionOwner.selector, sid, bob));
        router.cancelSubscription(sid);
        uint256 before = token.balanceOf(alice);
        vm.expectEmit(address(router));
        emit IOracleRouter.SubscriptionCancelled(sid, 2 * FEE);
        vm.prank(alice);
        assertEq(router.cancelSubscription(sid), 2 * FEE);
        assertEq(token.balanceOf(alice), before + 2 * FEE);
        assertTrue(router.getSubscription(sid).cancelled);
        vm.warp(block.timestamp + PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.SubscriptionCancelledAlready.selector, sid));
        router.openRound(sid, 1);
        assertEq(uint8(router.getRound(sid, 1).status), uint8(IOracleRouter.RoundStatus.Skipped));
        // The round open at cancel time finishes; nobody answered, so its fee returns and can be withdrawn.
        router.finalize(r0);
        vm.prank(alice);
        assertEq(router.cancelSubscription(sid), FEE);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_subscription_rescalesAcrossSplit() public {
        uint256 sid = _subscribe(2);
        _splitNow(2);
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        assertEq(sub.balance, 4 * FEE);
        assertEq(sub.feePerRound, 2 * FEE);
        vm.warp(sub.start);
        uint256 id = router.openRound(sid, 0);
        assertEq(router.getRequest(id).fee, 2 * FEE);
        assertEq(router.getSubscription(sid).balance, 2 * FEE);
        vm.prank(alice);
        assertEq(router.cancelSubscription(sid), 2 * FEE);
        assertEq(token.balanceOf(address(router)), 2 * FEE);
    }

    function test_views_revertForUnknownSubscriptionOrRound() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownSubscription.selector, 4));
        router.getRound(4, 0);
        uint256 sid = _subscribe(1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RoundExpired.selector, sid, 1));
        router.getRound(sid, 1);
        assertEq(router.getSubscription(7).owner, address(0));
    }
}

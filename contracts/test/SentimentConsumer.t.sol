// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {ISentimentConsumer} from "../src/interfaces/ISentimentConsumer.sol";
import {OracleTest} from "./utils/OracleTest.sol";

contract SentimentConsumerTest is OracleTest {
    bytes32 internal constant ETH = keccak256("ETH");
    uint256 internal constant SCORE_FEE = 3e18;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < 2; ++i) {
            address who = i == 0 ? alice : bob;
            _fund(who, 10 * SCORE_FEE);
            vm.prank(who);
            token.approve(address(sentiment), type(uint256).max);
        }
    }

    function _request(address funder) internal returns (uint256 id) {
        vm.prank(funder);
        id = sentiment.requestScore(
            "ETH", SCORE_FEE, 3, uint64(block.timestamp + 1 hours), uint64(block.timestamp + 2 hours)
        );
    }

    function _schedule(uint32 rounds) internal view returns (ISentimentConsumer.ScoreSchedule memory) {
        return ISentimentConsumer.ScoreSchedule({
            datasetHash: keccak256("headlines"),
            windowSeconds: 90 days,
            start: uint64(block.timestamp + 1 hours),
            period: 1 days,
            rounds: rounds,
            k: 3,
            commitWindow: 1 hours,
            revealWindow: 1 hours,
            feePerRound: SCORE_FEE
        });
    }

    function test_requestScore_pullsFromFunderAndAsksRouter() public {
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.ScoreRequested(ETH, 1, "ETH", alice);
        uint256 id = _request(alice);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(req.requester, address(sentiment));
        assertEq(req.templateHash, sentiment.templateHash());
        assertEq(req.callbackGasLimit, sentiment.CALLBACK_GAS());
        assertEq(sentiment.funderOf(id), alice);
        assertEq(token.balanceOf(alice), 9 * SCORE_FEE);
        assertEq(token.balanceOf(address(sentiment)), 0);
    }

    function test_onOracleResult_storesMedianScore() public {
        uint256 id = _request(alice);
        int256[] memory values = _values3(6e17, -1e17, 2e17);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], values[i]);
        }
        _reveal(id, nodes[0], values[0]);
        _reveal(id, nodes[1], values[1]);
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.ScoreUpdated(ETH, id, 2e17);
        _reveal(id, nodes[2], values[2]);
        ISentimentConsumer.Score memory score = sentiment.scoreOf(ETH);
        assertEq(score.value, 2e17);
        assertEq(score.requestId, id);
        assertEq(score.updatedAt, block.timestamp);
    }

    /// @dev Attack: spending another requester's refund. Alice's expired request leaves her refund in the router,
    /// owed to her through this contract: Bob's request is paid by Bob, and Bob cannot claim Alice's refund.
    function test_claimRefund_onlyTheFunderGetsItsRefund() public {
        uint256 id = _request(alice);
        vm.warp(block.timestamp + 3 hours);
        router.finalize(id);
        uint256 bobBefore = token.balanceOf(bob);
        _request(bob);
        assertEq(token.balanceOf(bob), bobBefore - SCORE_FEE);
        assertEq(token.balanceOf(address(sentiment)), 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ISentimentConsumer.NotFunder.selector, id, bob));
        sentiment.claimRefund(id);
        // Nor by going to the router directly: the router pays its requester (this contract) only.
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotRequester.selector, id, bob));
        router.claimRefund(id);
        uint256 aliceBefore = token.balanceOf(alice);
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.RefundClaimed(id, alice, SCORE_FEE);
        vm.prank(alice);
        assertEq(sentiment.claimRefund(id), SCORE_FEE);
        assertEq(token.balanceOf(alice), aliceBefore + SCORE_FEE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NothingToRefund.selector, id));
        sentiment.claimRefund(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ISentimentConsumer.NotFunder.selector, 99, alice));
        sentiment.claimRefund(99);
    }

    function test_subscribeScore_scoresDailyAndRefundsAMissedRound() public {
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.ScoreSubscribed(ETH, 1, "ETH", alice);
        vm.prank(alice);
        uint256 sid = sentiment.subscribeScore("ETH", _schedule(3));
        assertEq(token.balanceOf(alice), 7 * SCORE_FEE);
        assertEq(sentiment.subscriptionFunderOf(sid), alice);
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        assertEq(sub.owner, address(sentiment));
        assertEq(sub.params, bytes("ETH"));

        // Day 0: three nodes answer; the score lands.
        vm.warp(sub.start);
        uint256 day0 = router.openRound(sid, 0);
        _answer(day0, _values3(1e17, 3e17, 2e17));
        assertEq(sentiment.scoreOf(ETH).value, 2e17);
        assertEq(sentiment.scoreOf(ETH).requestId, day0);

        // Day 1: one node answers; the round is missed and the rest of its fee returns to the subscription.
        vm.warp(sub.start + 1 days);
        uint256 day1 = router.openRound(sid, 1);
        _commit(day1, nodes[0], 9e17);
        vm.warp(block.timestamp + 1 hours + 1);
        _reveal(day1, nodes[0], 9e17);
        assertEq(sentiment.scoreOf(ETH).value, 2e17);
        IOracleRouter.Round memory missed = router.getRound(sid, 1);
        assertEq(uint8(missed.status), uint8(IOracleRouter.RoundStatus.Missed));
        assertEq(router.getSubscription(sid).balance, SCORE_FEE + (SCORE_FEE - SCORE_FEE / 3));

        // Only the funder cancels, and gets the balance back.
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ISentimentConsumer.NotFunder.selector, sid, bob));
        sentiment.cancelScoreSubscription(sid);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        uint256 amount = sentiment.cancelScoreSubscription(sid);
        assertEq(amount, 2 * SCORE_FEE - SCORE_FEE / 3);
        assertEq(token.balanceOf(alice), before + amount);
        assertEq(token.balanceOf(address(sentiment)), 0);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_onOracleResult_newestRequestWins() public {
        uint256 older = _request(alice);
        uint256 newer = _request(bob);
        _answer(newer, _values3(5, 5, 5));
        _answer(older, _values3(1, 1, 1));
        assertEq(sentiment.scoreOf(ETH).value, 5);
        assertEq(sentiment.scoreOf(ETH).requestId, newer);
    }

    function test_onOracleResult_reverts() public {
        vm.expectRevert(ISentimentConsumer.OnlyRouter.selector);
        sentiment.onOracleResult(1, 1);
        vm.prank(address(router));
        vm.expectRevert(abi.encodeWithSelector(ISentimentConsumer.UnknownRequest.selector, 1));
        sentiment.onOracleResult(1, 1);
    }

    function testFuzz_claimRefund_funderGetsExactlyWhatWasUnspent(uint8 revealed, uint96 fee) public {
        revealed = uint8(bound(revealed, 0, 2));
        fee = uint96(bound(fee, 1, 10 * SCORE_FEE));
        _fund(alice, fee);
        vm.prank(alice);
        uint256 id =
            sentiment.requestScore("ETH", fee, 3, uint64(block.timestamp + 1 hours), uint64(block.timestamp + 2 hours));
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        for (uint256 i; i < revealed; ++i) {
            _reveal(id, nodes[i], 1);
        }
        vm.warp(block.timestamp + 3 hours);
        router.finalize(id);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        uint256 amount = sentiment.claimRefund(id);
        assertEq(amount, fee - revealed * (fee / 3));
        assertEq(token.balanceOf(alice), before + amount);
        assertEq(token.balanceOf(address(router)), 0);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ISentimentConsumer} from "../src/interfaces/ISentimentConsumer.sol";
import {BaseTest} from "./utils/BaseTest.sol";

contract SentimentConsumerTest is BaseTest {
    address internal n0;
    address internal n1;
    address internal n2;
    bytes32 internal constant ETH = keccak256("ETH");
    uint256 internal constant FEE = 3e18;

    function setUp() public override {
        super.setUp();
        (n0,,) = _registerNode("s0");
        (n1,,) = _registerNode("s1");
        (n2,,) = _registerNode("s2");
        _fund(alice, 10 * FEE);
        vm.prank(alice);
        token.approve(address(sentiment), type(uint256).max);
    }

    function _request() internal returns (uint256 id) {
        vm.prank(alice);
        id = sentiment.requestScore("ETH", FEE, 3, uint64(block.timestamp + 1 hours));
    }

    function test_requestScore_asksRouter() public {
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.ScoreRequested(ETH, 1, "ETH");
        uint256 id = _request();
        assertEq(router.getRequest(id).requester, address(sentiment));
        assertEq(router.getRequest(id).templateHash, sentiment.templateHash());
        assertEq(token.balanceOf(alice), 9 * FEE);
    }

    function test_onOracleResult_storesMedianScore() public {
        uint256 id = _request();
        vm.prank(n0);
        router.answer(id, 6e17);
        vm.prank(n1);
        router.answer(id, -1e17);
        vm.expectEmit(address(sentiment));
        emit ISentimentConsumer.ScoreUpdated(ETH, id, 2e17);
        vm.prank(n2);
        router.answer(id, 2e17);
        ISentimentConsumer.Score memory score = sentiment.scoreOf(ETH);
        assertEq(score.value, 2e17);
        assertEq(score.requestId, id);
        assertEq(score.updatedAt, block.timestamp);
    }

    function test_requestScore_spendsRefundsFirst() public {
        uint256 id = _request();
        vm.warp(block.timestamp + 2 hours);
        router.refund(id);
        assertEq(token.balanceOf(address(sentiment)), FEE);
        _request();
        assertEq(token.balanceOf(alice), 9 * FEE); // the refund paid for the second request
    }

    function test_onOracleResult_reverts() public {
        vm.expectRevert(ISentimentConsumer.OnlyRouter.selector);
        sentiment.onOracleResult(1, 1);
        vm.prank(address(router));
        vm.expectRevert(abi.encodeWithSelector(ISentimentConsumer.UnknownRequest.selector, 1));
        sentiment.onOracleResult(1, 1);
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {Median} from "../src/libraries/Median.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {MockOracleConsumer} from "./utils/Mocks.sol";

contract OracleRouterTest is BaseTest {
    MockOracleConsumer internal requester;
    bytes32 internal templateHash;
    address[] internal nodes;
    uint256 internal constant FEE = 10e18;

    function setUp() public override {
        super.setUp();
        templateHash = keccak256(bytes(SENTIMENT_TEMPLATE));
        requester = new MockOracleConsumer();
        _fund(address(requester), 100 * FEE);
        for (uint256 i; i < 5; ++i) {
            (address operator,,) = _registerNode(string.concat("oracle", vm.toString(i)));
            nodes.push(operator);
        }
    }

    function _ask(uint8 k) internal returns (uint256) {
        return requester.ask(router, token, templateHash, FEE, k, uint64(block.timestamp + 1 hours), 200_000);
    }

    // ------------------------------------------------------------ templates

    function test_registerTemplate_storesModel() public {
        vm.expectEmit(address(router));
        emit IOracleRouter.TemplateRegistered(keccak256("t"), MODEL, "t");
        bytes32 hash = router.registerTemplate("t", MODEL);
        assertEq(hash, keccak256("t"));
        assertEq(router.templateModel(hash), MODEL);
        assertEq(router.templateModel(templateHash), SENTIMENT_MODEL);
    }

    function test_registerTemplate_reverts() public {
        vm.expectRevert(IOracleRouter.ZeroModel.selector);
        router.registerTemplate("t", bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.TemplateExists.selector, templateHash));
        router.registerTemplate(SENTIMENT_TEMPLATE, MODEL);
    }

    // ------------------------------------------------------------ request

    function test_request_storesAndPullsFee() public {
        uint256 id = _ask(3);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(req.requester, address(requester));
        assertEq(req.k, 3);
        assertEq(req.fee, FEE);
        assertEq(req.modelHash, SENTIMENT_MODEL);
        assertEq(uint8(req.status), uint8(IOracleRouter.Status.Open));
        assertEq(token.balanceOf(address(router)), FEE);
        assertEq(router.nextRequestId(), id + 1);
    }

    function test_request_reverts() public {
        uint64 deadline = uint64(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownTemplate.selector, bytes32(uint256(1))));
        router.request(bytes32(uint256(1)), "", FEE, 1, deadline, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 0));
        router.request(templateHash, "", FEE, 0, deadline, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 17));
        router.request(templateHash, "", FEE, 17, deadline, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidDeadline.selector, uint64(block.timestamp)));
        router.request(templateHash, "", FEE, 1, uint64(block.timestamp), 0);
        uint64 far = uint64(block.timestamp + 31 days);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidDeadline.selector, far));
        router.request(templateHash, "", FEE, 1, far, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CallbackGasTooHigh.selector, 2_000_001));
        router.request(templateHash, "", FEE, 1, deadline, 2_000_001);
        vm.expectRevert(IOracleRouter.ZeroFee.selector);
        router.request(templateHash, "", 0, 1, deadline, 0);
    }

    // ------------------------------------------------------------ answer

    function test_answer_medianToCallbackAndFeeSplit() public {
        uint256 id = _ask(3);
        int256[3] memory values = [int256(5e17), -2e17, 9e17];
        for (uint256 i; i < 3; ++i) {
            vm.prank(nodes[i]);
            router.answer(id, values[i]);
        }
        assertEq(requester.lastRequestId(), id);
        assertEq(requester.lastValue(), 5e17);
        assertEq(uint8(router.getRequest(id).status), uint8(IOracleRouter.Status.Fulfilled));
        // 10e18 / 3: the first answerer also gets the remainder.
        assertEq(token.balanceOf(nodes[0]), FEE / 3 + FEE % 3);
        assertEq(token.balanceOf(nodes[1]), FEE / 3);
        assertEq(token.balanceOf(nodes[2]), FEE / 3);
        assertEq(token.balanceOf(address(router)), 0);
        (address[] memory operators, int256[] memory answers) = router.getAnswers(id);
        assertEq(operators.length, 3);
        assertEq(answers[1], -2e17);
    }

    function test_answer_bySignerCountsForOperator() public {
        uint256 id = _ask(1);
        address signer = registry.getNode(nodes[0]).signer;
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleAnswered(id, nodes[0], 7);
        vm.prank(signer);
        router.answer(id, 7);
        assertEq(token.balanceOf(nodes[0]), FEE);
    }

    function test_answer_evenCountAveragesMiddle() public {
        uint256 id = _ask(2);
        vm.prank(nodes[0]);
        router.answer(id, 3);
        vm.prank(nodes[1]);
        router.answer(id, 6);
        assertEq(requester.lastValue(), 4);
    }

    function test_answer_failingCallbackStillFulfils() public {
        requester.setMode(MockOracleConsumer.Mode.Revert);
        uint256 id = _ask(1);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleFulfilled(id, 1, false);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        assertEq(token.balanceOf(nodes[0]), FEE);
    }

    function test_answer_callbackGasIsCapped() public {
        requester.setMode(MockOracleConsumer.Mode.Burn);
        uint256 id = _ask(1);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        assertEq(uint8(router.getRequest(id).status), uint8(IOracleRouter.Status.Fulfilled));
    }

    function test_answer_revertsWithTooLittleGasForCallback() public {
        uint256 id = requester.ask(router, token, templateHash, FEE, 1, uint64(block.timestamp + 1 hours), 1_000_000);
        vm.prank(nodes[0]);
        vm.expectPartialRevert(IOracleRouter.InsufficientGasForCallback.selector);
        router.answer{gas: 400_000}(id, 1);
    }

    function test_answer_revertsOnDoubleFulfilment() public {
        uint256 id = _ask(1);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyFulfilled.selector, id));
        router.answer(id, 1);
    }

    function test_answer_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownRequest.selector, 99));
        router.answer(99, 1);

        uint256 id = _ask(2);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotRegisteredNode.selector, alice));
        router.answer(id, 1);

        vm.prank(nodes[0]);
        router.answer(id, 1);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyAnswered.selector, id, nodes[0]));
        router.answer(id, 2);

        uint64 deadline = router.getRequest(id).deadline;
        vm.warp(deadline + 1);
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.DeadlinePassed.selector, id, deadline));
        router.answer(id, 1);
    }

    function test_answer_revertsWhenModelNotServed() public {
        bytes32 other = router.registerTemplate("other", keccak256("unserved-model"));
        uint256 id = requester.ask(router, token, other, FEE, 1, uint64(block.timestamp + 1 hours), 0);
        vm.prank(nodes[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IOracleRouter.ModelNotServed.selector, nodes[0], keccak256("unserved-model"))
        );
        router.answer(id, 1);
    }

    // ------------------------------------------------------------ refund

    function test_refund_afterDeadline() public {
        uint256 id = _ask(3);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        uint256 before = token.balanceOf(address(requester));
        vm.warp(router.getRequest(id).deadline + 1);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleRefunded(id, FEE);
        router.refund(id);
        assertEq(token.balanceOf(address(requester)), before + FEE);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyRefunded.selector, id));
        router.refund(id);
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyRefunded.selector, id));
        router.answer(id, 1);
    }

    function test_refund_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownRequest.selector, 5));
        router.refund(5);
        uint256 id = _ask(1);
        uint64 deadline = router.getRequest(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.DeadlineNotReached.selector, id, deadline));
        router.refund(id);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyFulfilled.selector, id));
        router.refund(id);
    }

    function testFuzz_answer(int256[5] memory values, uint8 k) public {
        k = uint8(bound(k, 1, 5));
        uint256 id = _ask(k);
        int256[] memory given = new int256[](k);
        for (uint256 i; i < k; ++i) {
            given[i] = values[i];
            vm.prank(nodes[i]);
            router.answer(id, values[i]);
        }
        assertEq(requester.lastValue(), Median.compute(given));
        uint256 paid;
        for (uint256 i; i < k; ++i) {
            paid += token.balanceOf(nodes[i]);
        }
        assertEq(paid, FEE);
    }

    // ------------------------------------------------------------ splits

    function test_refund_afterSplitReturnsScaledFee() public {
        uint256 id = _ask(3);
        _splitNow(4);
        assertEq(router.getRequest(id).fee, FEE * 4);
        assertEq(router.getRequest(id).splitEpoch, 1);
        assertEq(token.balanceOf(address(router)), FEE * 4);
        vm.warp(block.timestamp + 1 hours + 1);
        uint256 before = token.balanceOf(address(requester));
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleRefunded(id, FEE * 4);
        router.refund(id);
        assertEq(token.balanceOf(address(requester)), before + FEE * 4);
        assertEq(token.balanceOf(address(router)), 0);
        assertEq(router.getRequest(id).fee, FEE * 4);
    }

    function test_answer_afterSplitPaysScaledFee() public {
        uint256 id = _ask(3);
        vm.prank(nodes[0]);
        router.answer(id, 1);
        _splitNow(3);
        vm.prank(nodes[1]);
        router.answer(id, 2);
        vm.prank(nodes[2]);
        router.answer(id, 3);
        // 30e18 / 3 each, no remainder.
        assertEq(token.balanceOf(nodes[0]), FEE);
        assertEq(token.balanceOf(nodes[1]), FEE);
        assertEq(token.balanceOf(nodes[2]), FEE);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_request_afterSplitCountsInNewEpoch() public {
        _splitNow(2);
        uint256 id = _ask(1);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(req.fee, FEE);
        assertEq(req.splitEpoch, 1);
        assertEq(router.getRequest(id + 1).fee, 0);
    }
}

contract MedianTest is BaseTest {
    function test_compute_oddAndEven() public pure {
        int256[] memory v = new int256[](5);
        (v[0], v[1], v[2], v[3], v[4]) = (int256(9), -3, 4, 0, 7);
        assertEq(Median.compute(v), 4);
        int256[] memory w = new int256[](4);
        (w[0], w[1], w[2], w[3]) = (int256(-3), 4, 10, -9);
        assertEq(Median.compute(w), 0); // mean(-3, 4) = 0.5 -> 0
    }

    function test_mean_roundsTowardZeroWithoutOverflow() public pure {
        assertEq(Median.mean(type(int256).max, type(int256).max), type(int256).max);
        assertEq(Median.mean(type(int256).min, type(int256).min), type(int256).min);
        assertEq(Median.mean(type(int256).min, type(int256).max), 0);
        assertEq(Median.mean(-3, 4), 0);
        assertEq(Median.mean(3, -4), 0);
        assertEq(Median.mean(-3, -4), -3);
        assertEq(Median.mean(3, 4), 3);
        assertEq(Median.mean(-5, -3), -4);
        assertEq(Median.mean(5, 3), 4);
    }

    function testFuzz_mean(int128 a, int128 b) public pure {
        assertEq(Median.mean(a, b), (int256(a) + int256(b)) / 2);
    }

    function testFuzz_compute(int256[7] memory raw) public pure {
        int256[] memory v = new int256[](7);
        for (uint256 i; i < 7; ++i) {
            v[i] = raw[i];
        }
        int256 m = Median.compute(v);
        uint256 below;
        uint256 above;
        for (uint256 i; i < 7; ++i) {
            if (raw[i] < m) ++below;
            if (raw[i] > m) ++above;
        }
        assertLe(below, 3);
        assertLe(above, 3);
    }
}

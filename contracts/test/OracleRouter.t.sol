// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {Median} from "../src/libraries/Median.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {MockOracleConsumer} from "./utils/Mocks.sol";
import {OracleTest} from "./utils/OracleTest.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract OracleRouterTest is OracleTest {
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

    // ------------------------------------------------------------ minimum k

    function test_setMinAnswers_governorRaisesTheFloor() public {
        assertEq(router.minAnswers(), 3);
        vm.expectEmit(address(router));
        emit IOracleRouter.MinAnswersSet(5);
        vm.prank(governor);
        router.setMinAnswers(5);
        assertEq(router.minAnswers(), 5);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 4, 5));
        _ask(4);
        assertEq(router.getRequest(_ask(5)).quorum, 5);
    }

    function test_setMinAnswers_reverts() public {
        bytes32 role = router.GOVERNOR_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        router.setMinAnswers(4);
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidMinAnswers.selector, 1));
        router.setMinAnswers(1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidMinAnswers.selector, 17));
        router.setMinAnswers(17);
        vm.stopPrank();
    }

    /// @dev Attack: a requester asking for one answer and giving it from its own node sets any result it likes.
    function test_request_refusesKOne() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 1, 3));
        _ask(1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 2, 3));
        _ask(2);
    }

    function testFuzz_request_kBelowMinimumRefused(uint8 k, uint8 minimum) public {
        minimum = uint8(bound(minimum, 2, 16));
        vm.prank(governor);
        router.setMinAnswers(minimum);
        if (k >= minimum && k <= 16) {
            assertEq(router.getRequest(_ask(k)).k, k);
        } else {
            vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, k, minimum));
            _ask(k);
        }
    }

    // ------------------------------------------------------------ request

    function test_request_storesAndPullsFee() public {
        uint256 id = _ask(3);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(req.requester, address(requester));
        assertEq(req.k, 3);
        assertEq(req.quorum, 3);
        assertEq(req.fee, FEE);
        assertEq(req.commitDeadline, block.timestamp + COMMIT_WINDOW);
        assertEq(req.revealDeadline, block.timestamp + COMMIT_WINDOW + REVEAL_WINDOW);
        assertEq(req.modelHash, SENTIMENT_MODEL);
        assertEq(req.subscriptionId, 0);
        assertEq(uint8(req.status), uint8(IOracleRouter.Status.Open));
        assertEq(uint8(_phase(id)), uint8(IOracleRouter.Phase.Commit));
        assertEq(token.balanceOf(address(router)), FEE);
        assertEq(router.escrowOf(id), FEE);
        assertEq(router.nextRequestId(), id + 1);
    }

    function test_request_reverts() public {
        uint64 c = uint64(block.timestamp + 1);
        uint64 r = c + 1;
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownTemplate.selector, bytes32(uint256(1))));
        router.request(bytes32(uint256(1)), "", FEE, 3, c, r, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 0, 3));
        router.request(templateHash, "", FEE, 0, c, r, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidAnswerCount.selector, 17, 3));
        router.request(templateHash, "", FEE, 17, c, r, 0);
        uint64 now_ = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidDeadlines.selector, now_, r));
        router.request(templateHash, "", FEE, 3, now_, r, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidDeadlines.selector, c, c));
        router.request(templateHash, "", FEE, 3, c, c, 0);
        uint64 far = uint64(block.timestamp + 30 days + 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.InvalidDeadlines.selector, c, far));
        router.request(templateHash, "", FEE, 3, c, far, 0);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CallbackGasTooHigh.selector, 2_000_001));
        router.request(templateHash, "", FEE, 3, c, r, 2_000_001);
        vm.expectRevert(IOracleRouter.ZeroFee.selector);
        router.request(templateHash, "", 0, 3, c, r, 0);
    }

    // ------------------------------------------------------------ commit

    function test_commit_storesAndCounts() public {
        uint256 id = _ask(3);
        bytes32 commitment = _commitment(id, nodes[0], 5);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleCommitted(id, nodes[0], commitment, 1);
        _commit(id, nodes[0], 5);
        (bytes32 stored, bool revealed) = router.commitmentOf(id, nodes[0]);
        assertEq(stored, commitment);
        assertFalse(revealed);
        assertEq(router.getRequest(id).commits, 1);
    }

    function test_commit_bySignerCountsForOperator() public {
        uint256 id = _ask(3);
        address signer = registry.getNode(nodes[0]).signer;
        bytes32 commitment = _commitment(id, nodes[0], 7);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleCommitted(id, nodes[0], commitment, 1);
        vm.prank(signer);
        router.commit(id, commitment);
        // A node never answers twice: not through its operator after its signer either.
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyCommitted.selector, id, nodes[0]));
        _commit(id, nodes[0], 8);
    }

    /// @dev Attack: answering twice (a second commit, from the operator or its signer).
    function test_commit_refusesSecondAnswer() public {
        uint256 id = _ask(3);
        _commit(id, nodes[0], 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyCommitted.selector, id, nodes[0]));
        _commit(id, nodes[0], 2);
        vm.prank(registry.getNode(nodes[0]).signer);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyCommitted.selector, id, nodes[0]));
        router.commit(id, bytes32(uint256(99)));
    }

    function test_commit_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownRequest.selector, 99));
        router.commit(99, bytes32(uint256(2)));

        uint256 id = _ask(3);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotRegisteredNode.selector, alice));
        router.commit(id, bytes32(uint256(2)));
        vm.prank(nodes[0]);
        vm.expectRevert(IOracleRouter.ZeroCommitment.selector);
        router.commit(id, bytes32(0));
        vm.prank(nodes[0]);
        vm.expectRevert(IOracleRouter.ZeroCommitment.selector);
        router.commit(id, bytes32(uint256(1)));
    }

    function test_commit_revertsWhenModelNotServed() public {
        bytes32 other = router.registerTemplate("other", keccak256("unserved-model"));
        uint64 c = uint64(block.timestamp + 1 hours);
        uint256 id = requester.ask(router, token, other, FEE, 3, c, c + 1 hours, 0);
        vm.prank(nodes[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IOracleRouter.ModelNotServed.selector, nodes[0], keccak256("unserved-model"))
        );
        router.commit(id, bytes32(uint256(2)));
    }

    function test_commit_closesAtKCommitsAndAtDeadline() public {
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        assertEq(uint8(_phase(id)), uint8(IOracleRouter.Phase.Reveal));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitClosed.selector, id));
        _commit(id, nodes[3], 1);

        uint256 late = _ask(3);
        _commit(late, nodes[0], 1);
        vm.warp(router.getRequest(late).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitClosed.selector, late));
        _commit(late, nodes[1], 1);
    }

    // ------------------------------------------------------------ reveal

    function test_reveal_medianToCallbackAndFeePerAnswer() public {
        uint256 id = _ask(3);
        int256[] memory values = _values3(5e17, -2e17, 9e17);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], values[i]);
        }
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleRevealed(id, nodes[0], 5e17, FEE / 3);
        _reveal(id, nodes[0], values[0]);
        // Paid on reveal: fee / k each.
        assertEq(token.balanceOf(nodes[0]), FEE / 3);
        assertEq(router.escrowOf(id), FEE - FEE / 3);
        _reveal(id, nodes[1], values[1]);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleFulfilled(id, 5e17, 3, true);
        _reveal(id, nodes[2], values[2]);
        assertEq(requester.lastRequestId(), id);
        assertEq(requester.lastValue(), 5e17);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(uint8(req.status), uint8(IOracleRouter.Status.Fulfilled));
        assertEq(req.result, 5e17);
        assertEq(req.refund, 0);
        // The k-th answer also gets the rounding remainder.
        assertEq(token.balanceOf(nodes[1]), FEE / 3);
        assertEq(token.balanceOf(nodes[2]), FEE / 3 + FEE % 3);
        assertEq(token.balanceOf(address(router)), 0);
        assertEq(router.escrowOf(id), 0);
        (address[] memory operators, int256[] memory answers) = router.getAnswers(id);
        assertEq(operators.length, 3);
        assertEq(operators[1], nodes[1]);
        assertEq(answers[1], -2e17);
        (bytes32 commitment, bool revealed) = router.commitmentOf(id, nodes[1]);
        assertEq(commitment, bytes32(0));
        assertTrue(revealed);
        assertEq(uint8(_phase(id)), uint8(IOracleRouter.Phase.Settled));
    }

    function test_reveal_notWhileCommitsOpen() public {
        uint256 id = _ask(3);
        _commit(id, nodes[0], 4);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RevealNotOpen.selector, id));
        _reveal(id, nodes[0], 4);
        // Reveals open at the commit deadline even with fewer than k commits.
        vm.warp(router.getRequest(id).commitDeadline + 1);
        assertEq(uint8(_phase(id)), uint8(IOracleRouter.Phase.Reveal));
        _reveal(id, nodes[0], 4);
    }

    /// @dev Attack: copying a revealed answer. Commits are closed once reveals open, so the copy cannot be committed,
    /// and copying the commitment itself while commits are open does not help: it binds the original operator.
    function test_reveal_copyingARevealedAnswerIsUseless() public {
        uint256 id = _ask(3);
        _commit(id, nodes[0], 42);
        // The copier takes the victim's commitment while commits are open...
        bytes32 victims = _commitment(id, nodes[0], 42);
        vm.prank(nodes[1]);
        router.commit(id, victims);
        _commit(id, nodes[2], 40);
        // ...reveals are open now (k commits); the victim reveals (value and salt are public from here).
        _reveal(id, nodes[0], 42);
        // The copier cannot reveal the victim's value and salt: the commitment names the victim's operator.
        vm.prank(nodes[1]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitmentMismatch.selector, id, nodes[1]));
        router.reveal(id, 42, _salt(nodes[0], 42));
        // And a late node cannot commit the revealed answer: commits are closed.
        vm.prank(nodes[3]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitClosed.selector, id));
        router.commit(id, keccak256(abi.encode(id, nodes[3], int256(42), _salt(nodes[0], 42))));
        // The copier earns nothing; the request settles at the deadline on two reveals... below the quorum of 3.
        _reveal(id, nodes[2], 40);
        vm.warp(router.getRequest(id).revealDeadline + 1);
        router.finalize(id);
        assertEq(token.balanceOf(nodes[1]), 0);
        assertEq(uint8(_status(id)), uint8(IOracleRouter.Status.Expired));
    }

    /// @dev Attack: revealing a value (or salt) other than the one committed.
    function test_reveal_refusesValueNotMatchingCommitment() public {
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 10);
        }
        vm.startPrank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitmentMismatch.selector, id, nodes[0]));
        router.reveal(id, 11, _salt(nodes[0], 10));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitmentMismatch.selector, id, nodes[0]));
        router.reveal(id, 10, bytes32(uint256(123)));
        vm.stopPrank();
    }

    function testFuzz_reveal_onlyTheCommittedPairOpens(int256 value, bytes32 salt, int256 other, bytes32 otherSalt)
        public
    {
        vm.assume(value != other || salt != otherSalt);
        uint256 id = _ask(3);
        vm.prank(nodes[0]);
        router.commit(id, keccak256(abi.encode(id, nodes[0], value, salt)));
        vm.warp(block.timestamp + COMMIT_WINDOW + 1);
        vm.prank(nodes[0]);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.CommitmentMismatch.selector, id, nodes[0]));
        router.reveal(id, other, otherSalt);
        vm.prank(nodes[0]);
        router.reveal(id, value, salt);
    }

    /// @dev Attack: answering twice (a second reveal).
    function test_reveal_refusesSecondReveal() public {
        uint256 id = _ask(4);
        for (uint256 i; i < 4; ++i) {
            _commit(id, nodes[i], 1);
        }
        _reveal(id, nodes[0], 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyRevealed.selector, id, nodes[0]));
        _reveal(id, nodes[0], 1);
        vm.prank(registry.getNode(nodes[0]).signer);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.AlreadyRevealed.selector, id, nodes[0]));
        router.reveal(id, 1, _salt(nodes[0], 1));
    }

    /// @dev Attack: revealing after the reveal deadline (for example after seeing everyone else's answers).
    function test_reveal_refusedAfterDeadline() public {
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        uint64 deadline = router.getRequest(id).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RevealClosed.selector, id, deadline));
        _reveal(id, nodes[0], 1);
    }

    function test_reveal_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownRequest.selector, 7));
        router.reveal(7, 1, bytes32(0));
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotRegisteredNode.selector, alice));
        router.reveal(id, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotCommitted.selector, id, nodes[4]));
        _reveal(id, nodes[4], 1);
        for (uint256 i; i < 3; ++i) {
            _reveal(id, nodes[i], 1);
        }
        vm.expectRevert(
            abi.encodeWithSelector(IOracleRouter.RequestSettled.selector, id, IOracleRouter.Status.Fulfilled)
        );
        _reveal(id, nodes[0], 1);
        vm.expectRevert(
            abi.encodeWithSelector(IOracleRouter.RequestSettled.selector, id, IOracleRouter.Status.Fulfilled)
        );
        _commit(id, nodes[4], 1);
    }

    function test_reveal_lastCommittedNodeSettlesWithQuorum() public {
        // k = 5, only 3 commit before the deadline: the third reveal settles with the quorum (3).
        uint256 id = _ask(5);
        int256[] memory values = _values3(3, 9, 6);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], values[i]);
        }
        vm.warp(router.getRequest(id).commitDeadline + 1);
        _reveal(id, nodes[0], 3);
        _reveal(id, nodes[1], 9);
        _reveal(id, nodes[2], 6);
        IOracleRouter.Request memory req = router.getRequest(id);
        assertEq(uint8(req.status), uint8(IOracleRouter.Status.Fulfilled));
        assertEq(requester.lastValue(), 6);
        // Two of five shares were not earned: the requester may claim them.
        uint256 unpaid = FEE - 3 * (FEE / 5);
        assertEq(req.refund, unpaid);
        assertEq(router.escrowOf(id), unpaid);
        uint256 before = token.balanceOf(address(requester));
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleRefundClaimed(id, address(requester), unpaid);
        assertEq(requester.claim(router, id), unpaid);
        assertEq(token.balanceOf(address(requester)), before + unpaid);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_reveal_evenCountAveragesMiddle() public {
        vm.prank(governor);
        router.setMinAnswers(2);
        uint256 id = _ask(4);
        int256[4] memory v = [int256(3), 6, 100, -100];
        for (uint256 i; i < 4; ++i) {
            _commit(id, nodes[i], v[i]);
        }
        for (uint256 i; i < 4; ++i) {
            _reveal(id, nodes[i], v[i]);
        }
        assertEq(requester.lastValue(), 4);
    }

    function test_reveal_failingCallbackStillFulfils() public {
        requester.setMode(MockOracleConsumer.Mode.Revert);
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        _reveal(id, nodes[0], 1);
        _reveal(id, nodes[2], 1);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleFulfilled(id, 1, 3, false);
        _reveal(id, nodes[1], 1);
        assertEq(token.balanceOf(nodes[1]), FEE / 3 + FEE % 3);
    }

    function test_reveal_callbackGasIsCapped() public {
        requester.setMode(MockOracleConsumer.Mode.Burn);
        uint256 id = _ask(3);
        _answer(id, _values3(1, 2, 3));
        assertEq(uint8(_status(id)), uint8(IOracleRouter.Status.Fulfilled));
    }

    function test_reveal_revertsWithTooLittleGasForCallback() public {
        uint256 id = _ask(3, FEE, 1_000_000);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        _reveal(id, nodes[0], 1);
        _reveal(id, nodes[1], 1);
        vm.prank(nodes[2]);
        vm.expectPartialRevert(IOracleRouter.InsufficientGasForCallback.selector);
        router.reveal{gas: 400_000}(id, 1, _salt(nodes[2], 1));
    }

    // ------------------------------------------------------------ finalize and refunds

    function test_finalize_belowQuorumExpiresAndRefundsUnrevealedShares() public {
        uint256 id = _ask(3);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], 1);
        }
        _reveal(id, nodes[0], 1);
        _reveal(id, nodes[1], 1);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotFinalizable.selector, id));
        router.finalize(id);
        vm.warp(router.getRequest(id).revealDeadline + 1);
        assertEq(uint8(_phase(id)), uint8(IOracleRouter.Phase.Finalizable));
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleExpired(id, 2);
        router.finalize(id);
        assertEq(requester.calls(), 0);
        // Revealers keep their pay; the committed-but-silent node gets nothing, its share goes back.
        assertEq(token.balanceOf(nodes[0]), FEE / 3);
        assertEq(token.balanceOf(nodes[2]), 0);
        uint256 unpaid = FEE - 2 * (FEE / 3);
        assertEq(router.getRequest(id).refund, unpaid);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotRequester.selector, id, alice));
        router.claimRefund(id);
        assertEq(requester.claim(router, id), unpaid);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NothingToRefund.selector, id));
        requester.claim(router, id);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.RequestSettled.selector, id, IOracleRouter.Status.Expired));
        router.finalize(id);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_finalize_afterRevealDeadlineDeliversQuorumMedian() public {
        uint256 id = _ask(4);
        int256[4] memory v = [int256(10), 20, 30, 40];
        for (uint256 i; i < 4; ++i) {
            _commit(id, nodes[i], v[i]);
        }
        for (uint256 i; i < 3; ++i) {
            _reveal(id, nodes[i], v[i]);
        }
        vm.warp(router.getRequest(id).revealDeadline + 1);
        vm.expectEmit(address(router));
        emit IOracleRouter.OracleFulfilled(id, 20, 3, true);
        router.finalize(id);
        assertEq(requester.lastValue(), 20);
        assertEq(router.getRequest(id).refund, FEE / 4);
    }

    function test_finalize_noCommitsRefundsAllAfterCommitDeadline() public {
        uint256 id = _ask(3);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NotFinalizable.selector, id));
        router.finalize(id);
        vm.warp(router.getRequest(id).commitDeadline + 1);
        router.finalize(id);
        assertEq(uint8(_status(id)), uint8(IOracleRouter.Status.Expired));
        assertEq(requester.claim(router, id), FEE);
    }

    function test_claimRefund_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.UnknownRequest.selector, 3));
        router.claimRefund(3);
        uint256 id = _ask(3);
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NothingToRefund.selector, id));
        requester.claim(router, id);
        _answer(id, _values3(1, 2, 3));
        vm.expectRevert(abi.encodeWithSelector(IOracleRouter.NothingToRefund.selector, id));
        requester.claim(router, id);
    }

    function testFuzz_commitReveal(int256[7] memory values, uint8 k, uint8 committed, uint8 revealed) public {
        k = uint8(bound(k, 3, 7));
        committed = uint8(bound(committed, 0, k));
        revealed = uint8(bound(revealed, 0, committed));
        uint256 id = _ask(k);
        for (uint256 i; i < committed; ++i) {
            _commit(id, nodes[i], values[i]);
        }
        vm.warp(block.timestamp + COMMIT_WINDOW + 1);
        int256[] memory given = new int256[](revealed);
        for (uint256 i; i < revealed; ++i) {
            given[i] = values[i];
            _reveal(id, nodes[i], values[i]);
        }
        if (_status(id) == IOracleRouter.Status.Open) {
            vm.warp(block.timestamp + REVEAL_WINDOW);
            router.finalize(id);
        }
        IOracleRouter.Request memory req = router.getRequest(id);
        if (revealed >= 3) {
            assertEq(uint8(req.status), uint8(IOracleRouter.Status.Fulfilled));
            assertEq(requester.lastValue(), Median.compute(given));
        } else {
            assertEq(uint8(req.status), uint8(IOracleRouter.Status.Expired));
            assertEq(requester.calls(), 0);
        }
        uint256 paid;
        for (uint256 i; i < 7; ++i) {
            paid += token.balanceOf(nodes[i]);
        }
        assertLe(paid, FEE);
        assertEq(paid + req.refund, FEE);
        assertEq(token.balanceOf(address(router)), req.refund);
    }

    // ------------------------------------------------------------ splits

    function test_claimRefund_afterSplitReturnsScaledFee() public {
        uint256 id = _ask(3);
        _splitNow(4);
        assertEq(router.getRequest(id).fee, FEE * 4);
        assertEq(router.getRequest(id).splitEpoch, 1);
        assertEq(token.balanceOf(address(router)), FEE * 4);
        vm.warp(block.timestamp + COMMIT_WINDOW + 1);
        router.finalize(id);
        assertEq(router.getRequest(id).refund, FEE * 4);
        uint256 before = token.balanceOf(address(requester));
        assertEq(requester.claim(router, id), FEE * 4);
        assertEq(token.balanceOf(address(requester)), before + FEE * 4);
        assertEq(token.balanceOf(address(router)), 0);
        assertEq(router.getRequest(id).fee, FEE * 4);
    }

    function test_reveal_afterSplitPaysScaledShare() public {
        uint256 id = _ask(3, 30e18, 200_000);
        for (uint256 i; i < 3; ++i) {
            _commit(id, nodes[i], int256(i));
        }
        _reveal(id, nodes[0], 0);
        _splitNow(3);
        _reveal(id, nodes[1], 1);
        _reveal(id, nodes[2], 2);
        assertEq(token.balanceOf(nodes[0]), 10e18 * 3); // paid 10e18 before the split, tripled since
        assertEq(token.balanceOf(nodes[1]), 30e18);
        assertEq(token.balanceOf(nodes[2]), 30e18);
        assertEq(token.balanceOf(address(router)), 0);
    }

    function test_request_afterSplitCountsInNewEpoch() public {
        _splitNow(2);
        uint256 id = _ask(3);
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

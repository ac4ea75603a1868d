// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {OracleHandler} from "./utils/Handlers.sol";

contract OracleRouterInvariantTest is BaseTest {
    OracleHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory nodes = new address[](4);
        for (uint256 i; i < nodes.length; ++i) {
            (nodes[i],,) = _registerNode(string.concat("oracle-node-", vm.toString(i)));
        }
        address[] memory requesters = new address[](2);
        for (uint256 i; i < requesters.length; ++i) {
            requesters[i] = makeAddr(string.concat("requester", vm.toString(i)));
            _fund(requesters[i], 1e22);
        }
        handler = new OracleHandler(token, governor, router, keccak256(bytes(SENTIMENT_TEMPLATE)), nodes, requesters);
        targetContract(address(handler));
    }

    /// @dev Token conservation: the router holds exactly the open escrows (unpaid fees of open requests, unclaimed
    /// refunds of settled ones) plus the subscriptions' balances, in current AI, across any splits.
    function invariant_balanceEqualsOpenEscrows() public view {
        uint256 sum;
        for (uint256 i; i < handler.requestCount(); ++i) {
            sum += router.escrowOf(handler.requestIds(i));
        }
        for (uint256 i; i < handler.subscriptionCount(); ++i) {
            sum += router.getSubscription(handler.subscriptionIds(i)).balance;
        }
        assertEq(token.balanceOf(address(router)), sum);
    }

    /// @dev A request never pays its revealers more than its fee, and never counts more commits than k or more
    /// reveals than commits.
    function invariant_paidNeverExceedsFee() public view {
        assertEq(handler.overpaid(), 0);
        for (uint256 i; i < handler.requestCount(); ++i) {
            IOracleRouter.Request memory req = router.getRequest(handler.requestIds(i));
            assertLe(req.commits, req.k);
            assertLe(req.reveals, req.commits);
        }
    }

    /// @dev Refunds and withdrawals moved exactly what the router reported; results are the revealed median.
    function invariant_payoutsMatchBooks() public view {
        assertEq(handler.payoutMismatches(), 0);
    }

    /// @dev No second answer, mismatched or copied reveal, or early/repeated round ever went through.
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_attacksFail() public view {
        assertEq(handler.attacksSucceeded(), 0);
    }

    /// @dev The handler reaches the interesting states (so the invariants above are not checked on empty books): a
    /// pseudo-random walk settles requests both ways and opens rounds.
    function test_handler_reachesSettlements() public {
        for (uint256 i; i < 400; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            uint256 action = r % 9;
            if (action == 0) {
                handler.request(r >> 8, r >> 16, uint8(r >> 24), r >> 32, r >> 48);
            } else if (action <= 2) {
                handler.commit(r >> 8, r >> 16, int256(r >> 24), bytes32(r), false);
            } else if (action <= 4) {
                handler.reveal(r >> 8, r >> 16, false);
            } else if (action == 5) {
                handler.finalize(r >> 8);
            } else if (action == 6) {
                handler.warp(r >> 8);
            } else if (action == 7) {
                handler.createSubscription(r >> 8, r >> 16, uint8(r >> 24), uint32(r >> 32), uint32(r >> 64));
            } else {
                handler.openRound(r >> 8, uint32(r >> 16));
            }
        }
        assertGt(handler.fulfilled(), 0);
        assertGt(handler.expired(), 0);
        assertGt(handler.roundsOpened(), 0);
        invariant_balanceEqualsOpenEscrows();
        invariant_payoutsMatchBooks();
    }

    /// @dev The supply changes only by splits.
    function invariant_supplyChangesOnlyBySplit() public view {
        assertEq(token.totalSupply(), token.INITIAL_SUPPLY() * token.scale());
    }
}

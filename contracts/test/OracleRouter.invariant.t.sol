// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../src/interfaces/IOracleRouter.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {OracleHandler} from "./utils/Handlers.sol";

contract OracleRouterInvariantTest is BaseTest {
    OracleHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory nodes = new address[](3);
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

    /// @dev The router holds exactly the fees of open requests (in current AI), across any splits.
    function invariant_feesHeldEqualOpenRequests() public view {
        uint256 sum;
        for (uint256 i; i < handler.requestCount(); ++i) {
            IOracleRouter.Request memory req = router.getRequest(handler.requestIds(i));
            if (req.status == IOracleRouter.Status.Open) sum += req.fee;
        }
        assertEq(token.balanceOf(address(router)), sum);
    }

    /// @dev Every fulfilment and refund moved exactly the fee the router reported for the request.
    function invariant_payoutsMatchFees() public view {
        assertEq(handler.payoutMismatches(), 0);
    }

    /// @dev The supply changes only by splits.
    function invariant_supplyChangesOnlyBySplit() public view {
        assertEq(token.totalSupply(), token.INITIAL_SUPPLY() * token.scale());
    }
}

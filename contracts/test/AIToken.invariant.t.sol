// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {BaseTest} from "./utils/BaseTest.sol";
import {TokenHandler} from "./utils/Handlers.sol";

contract AITokenInvariantTest is BaseTest {
    TokenHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory holders = new address[](4);
        holders[0] = governor;
        holders[1] = alice;
        holders[2] = bob;
        holders[3] = makeAddr("carol");
        handler = new TokenHandler(token, governor, holders);
        targetContract(address(handler));
    }

    /// @dev The supply changes only by splits: it is always the initial supply times the product of the factors.
    function invariant_supplyChangesOnlyBySplit() public view {
        assertEq(token.totalSupply(), token.INITIAL_SUPPLY() * token.scale());
    }

    /// @dev Scaling is exact: the holders' balances always add up to the supply.
    function invariant_balancesSumToSupply() public view {
        uint256 sum;
        for (uint256 i; i < handler.holderCount(); ++i) {
            sum += token.balanceOf(handler.holders(i));
        }
        assertEq(sum, token.totalSupply());
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {RegistryHandler} from "./utils/Handlers.sol";

contract NodeRegistryInvariantTest is BaseTest {
    RegistryHandler internal handler;

    function setUp() public override {
        super.setUp();
        address verifier = makeAddr("verifier");
        address[] memory ops = new address[](4);
        for (uint256 i; i < ops.length; ++i) {
            ops[i] = makeAddr(string.concat("op", vm.toString(i)));
            _fund(ops[i], 20 * MIN_STAKE);
        }
        handler = new RegistryHandler(token, registry, governor, verifier, ops);
        bytes32 role = registry.VERIFIER_ROLE();
        vm.prank(governor);
        registry.grantRole(role, verifier);
        targetContract(address(handler));
    }

    /// @dev Stake accounting balances: the registry holds exactly the stake and unbonding stake of all nodes (as the
    /// views report them, in current AI), across any splits.
    function invariant_stakeAccountingBalances() public view {
        uint256 sum;
        for (uint256 i; i < handler.operatorCount(); ++i) {
            INodeRegistry.Node memory node = registry.getNode(handler.operators(i));
            sum += node.stake + node.unbonding;
        }
        assertEq(token.balanceOf(address(registry)), sum);
    }

    /// @dev Every active public-tier node meets the minimum stake, and the active list matches the active flags.
    function invariant_activeNodesAreStakedAndListed() public view {
        uint256 active;
        for (uint256 i; i < handler.operatorCount(); ++i) {
            INodeRegistry.Node memory node = registry.getNode(handler.operators(i));
            if (node.active) {
                ++active;
                assertGe(node.stake, registry.minStake());
            }
        }
        assertEq(registry.activeNodeCount(), active);
    }

    /// @dev Every withdrawal paid exactly the unbonding stake the registry reported.
    function invariant_withdrawalsMatchBooks() public view {
        assertEq(handler.payoutMismatches(), 0);
    }

    /// @dev The supply changes only by splits.
    function invariant_supplyChangesOnlyBySplit() public view {
        assertEq(token.totalSupply(), token.INITIAL_SUPPLY() * token.scale());
    }

    /// @dev Slash rewards never exceed their share of what was slashed (each rounds down on its own).
    function invariant_slashRewardsWithinShare() public view {
        assertLe(token.balanceOf(address(handler)), handler.slashedTotal() * registry.proverRewardBps() / 10_000);
    }

    /// @dev A signer once bound never maps to another operator: not after rotations, deregistering or anyone trying
    /// to bind it with its own valid consent. Retired signers stay slashable and are never active for anyone else.
    function invariant_signerBindingsNeverMove() public view {
        assertEq(handler.rebindings(), 0);
        assertEq(handler.unexpectedBindingFailures(), 0);
        for (uint256 i; i < handler.SIGNER_POOL(); ++i) {
            address signer = handler.signerAt(i);
            address first = handler.firstOperatorOf(signer);
            assertEq(registry.slashableOperatorOf(signer), first);
            address active = registry.activeOperatorOf(signer);
            assertTrue(active == address(0) || active == first);
        }
    }
}

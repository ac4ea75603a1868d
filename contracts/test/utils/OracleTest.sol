// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOracleRouter} from "../../src/interfaces/IOracleRouter.sol";
import {BaseTest} from "./BaseTest.sol";
import {MockOracleConsumer} from "./Mocks.sol";

/// @notice Registered oracle nodes, a mock requester and commit-reveal helpers for the router's suites.
abstract contract OracleTest is BaseTest {
    MockOracleConsumer internal requester;
    bytes32 internal templateHash;
    address[] internal nodes;
    uint256 internal constant FEE = 10e18;
    uint64 internal constant COMMIT_WINDOW = 1 hours;
    uint64 internal constant REVEAL_WINDOW = 1 hours;

    function setUp() public virtual override {
        super.setUp();
        templateHash = keccak256(bytes(SENTIMENT_TEMPLATE));
        requester = new MockOracleConsumer();
        _fund(address(requester), 100 * FEE);
        for (uint256 i; i < 7; ++i) {
            (address operator,,) = _registerNode(string.concat("oracle", vm.toString(i)));
            nodes.push(operator);
        }
    }

    function _ask(uint8 k) internal returns (uint256) {
        return _ask(k, FEE, 200_000);
    }

    function _ask(uint8 k, uint256 fee, uint32 gas) internal returns (uint256) {
        uint64 commitDeadline = uint64(block.timestamp + COMMIT_WINDOW);
        return requester.ask(router, token, templateHash, fee, k, commitDeadline, commitDeadline + REVEAL_WINDOW, gas);
    }

    function _salt(address node, int256 value) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", node, value));
    }

    function _commitment(uint256 id, address node, int256 value) internal pure returns (bytes32) {
        return keccak256(abi.encode(id, node, value, _salt(node, value)));
    }

    function _commit(uint256 id, address node, int256 value) internal {
        vm.prank(node);
        router.commit(id, _commitment(id, node, value));
    }

    function _reveal(uint256 id, address node, int256 value) internal {
        vm.prank(node);
        router.reveal(id, value, _salt(node, value));
    }

    /// @dev Nodes 0..n-1 commit `values`, then reveal them in order.
    function _answer(uint256 id, int256[] memory values) internal {
        for (uint256 i; i < values.length; ++i) {
            _commit(id, nodes[i], values[i]);
        }
        for (uint256 i; i < values.length; ++i) {
            _reveal(id, nodes[i], values[i]);
        }
    }

    function _values3(int256 a, int256 b, int256 c) internal pure returns (int256[] memory v) {
        v = new int256[](3);
        (v[0], v[1], v[2]) = (a, b, c);
    }

    function _status(uint256 id) internal view returns (IOracleRouter.Status) {
        return router.getRequest(id).status;
    }

    function _phase(uint256 id) internal view returns (IOracleRouter.Phase) {
        return router.phaseOf(id);
    }
}

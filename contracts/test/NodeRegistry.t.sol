// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {NodeRegistry} from "../src/NodeRegistry.sol";
import {IAIToken} from "../src/interfaces/IAIToken.sol";
import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

contract NodeRegistryTest is BaseTest {
    address internal operator = makeAddr("operator");
    address internal signer = _rememberKey("signer");
    address internal verifier = makeAddr("verifier");

    function setUp() public override {
        super.setUp();
        bytes32 role = registry.VERIFIER_ROLE();
        vm.prank(governor);
        registry.grantRole(role, verifier);
        _fund(operator, 10 * MIN_STAKE);
        vm.prank(operator);
        token.approve(address(registry), type(uint256).max);
    }

    function _register() internal {
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_setsParameters() public view {
        assertEq(address(registry.token()), address(token));
        assertEq(registry.minStake(), MIN_STAKE);
        assertEq(registry.unbondingDelay(), UNBONDING_DELAY);
        assertEq(registry.treasury(), governor);
        assertEq(registry.proverRewardBps(), 500);
        assertTrue(registry.hasRole(registry.GOVERNOR_ROLE(), governor));
    }

    function test_constructor_revertsOnZeroAddress() public {
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        new NodeRegistry(IAIToken(address(0)), governor, 1, 1);
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        new NodeRegistry(token, address(0), 1, 1);
    }

    function test_constructor_revertsOnLongUnbondingDelay() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooLong.selector, 91 days));
        new NodeRegistry(token, governor, 1, 91 days);
    }

    // ------------------------------------------------------------ register

    function test_register_storesNodeAndEmits() public {
        INodeRegistry.NodeParams memory params = _params(signer, "peer-op");
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeRegistered(
            operator, signer, bytes("peer-op"), params.models, 1e18, 2e18, "ipfs://node", MIN_STAKE
        );
        _register();
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.operator, operator);
        assertEq(node.signer, signer);
        assertTrue(node.active);
        assertEq(node.stake, MIN_STAKE);
        assertEq(node.peerId, bytes("peer-op"));
        assertEq(node.models.length, 2);
        assertEq(node.metadataURI, "ipfs://node");
        assertEq(registry.operatorOfSigner(signer), operator);
        assertEq(registry.operatorOfPeerId(bytes("peer-op")), operator);
        assertTrue(registry.isActive(operator));
        assertEq(registry.activeOperatorOf(operator), operator);
        assertEq(registry.activeOperatorOf(signer), operator);
        assertEq(registry.activeOperatorOf(alice), address(0));
        assertTrue(registry.servesModel(operator, MODEL));
        assertFalse(registry.servesModel(operator, keccak256("other")));
        assertEq(token.balanceOf(address(registry)), MIN_STAKE);
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        _register();
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.AlreadyRegistered.selector, operator));
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE);
    }

    function test_register_revertsBelowMinimumStake() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InsufficientStake.selector, MIN_STAKE - 1, MIN_STAKE));
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE - 1);
    }

    function test_register_whitelistedNeedsNoStake() public {
        vm.prank(governor);
        registry.setWhitelisted(operator, true);
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), 0);
        assertTrue(registry.isActive(operator));
        assertTrue(registry.getNode(operator).whitelisted);
    }

    function test_register_revertsOnZeroSigner() public {
        vm.prank(operator);
        vm.expectRevert(INodeRegistry.InvalidSigner.selector);
        registry.register(_params(address(0), "peer-op"), _proof(operator, _params(address(0), "peer-op")), MIN_STAKE);
    }

    function test_register_revertsOnBadPeerId() public {
        vm.startPrank(operator);
        vm.expectRevert(INodeRegistry.InvalidPeerId.selector);
        registry.register(_params(signer, ""), _proof(operator, _params(signer, "")), MIN_STAKE);
        INodeRegistry.NodeParams memory params = _params(signer, "x");
        params.peerId = new bytes(129);
        vm.expectRevert(INodeRegistry.InvalidPeerId.selector);
        registry.register(params, _proof(operator, params), MIN_STAKE);
        vm.stopPrank();
    }

    function test_register_revertsOnBadModelCount() public {
        INodeRegistry.NodeParams memory params = _params(signer, "peer-op");
        params.models = new bytes32[](0);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidModelCount.selector, 0));
        registry.register(params, _proof(operator, params), MIN_STAKE);
        params.models = new bytes32[](33);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidModelCount.selector, 33));
        registry.register(params, _proof(operator, params), MIN_STAKE);
        vm.stopPrank();
    }

    function test_register_revertsWhenSignerOrPeerIdTaken() public {
        _register();
        _fund(alice, MIN_STAKE * 2);
        vm.startPrank(alice);
        token.approve(address(registry), MIN_STAKE * 2);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.SignerTaken.selector, signer, operator));
        registry.register(_params(signer, "peer-alice"), _proof(alice, _params(signer, "peer-alice")), MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.PeerIdTaken.selector, operator));
        registry.register(_params(bob, "peer-op"), _proof(alice, _params(bob, "peer-op")), MIN_STAKE);
        vm.stopPrank();
    }

    /// @dev Squatting: before the fix anyone could register someone else's signer address (here alice registers
    /// the signer of a node that has not registered yet), locking its owner out.
    function test_register_revertsWithoutSignerProof() public {
        INodeRegistry.NodeParams memory params = _params(signer, "peer-alice");
        _fund(alice, MIN_STAKE);
        vm.startPrank(alice);
        token.approve(address(registry), MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, signer));
        registry.register(params, "", MIN_STAKE);
        // A consent the signer gave another operator does not carry over.
        bytes memory forOperator = _proof(operator, params);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, signer));
        registry.register(params, forOperator, MIN_STAKE);
        // Nor one for another peer id.
        bytes memory otherPeer = _proof(alice, _params(signer, "peer-other"));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, signer));
        registry.register(params, otherPeer, MIN_STAKE);
        vm.stopPrank();
        assertEq(registry.slashableOperatorOf(signer), address(0));
        assertEq(registry.signerNonces(signer), 0);
    }

    function test_signerBindingDigest_isEip712Digest() public view {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Modelex NodeRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        assertEq(registry.domainSeparator(), domain);
        assertEq(
            registry.signerBindingDigest(operator, signer, bytes("peer-op")),
            _bindingDigest(operator, bytes("peer-op"), 0)
        );
    }

    function test_register_viaTransferAndCall() public {
        INodeRegistry.NodeParams memory params = _params(signer, "peer-op");
        bytes memory data = abi.encodeCall(INodeRegistry.register, (params, _proof(operator, params), 0));
        vm.prank(operator);
        token.transferAndCall(address(registry), MIN_STAKE, data);
        assertTrue(registry.isActive(operator));
        assertEq(registry.getNode(operator).stake, MIN_STAKE);
    }

    function test_register_afterDeregisterReusesIdentity() public {
        _register();
        vm.startPrank(operator);
        registry.deregister();
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE);
        vm.stopPrank();
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertTrue(node.active);
        assertEq(node.stake, MIN_STAKE);
        assertEq(node.unbonding, MIN_STAKE);
    }

    function testFuzz_register(uint256 stake, uint128 priceIn, uint128 priceOut) public {
        stake = bound(stake, MIN_STAKE, 10 * MIN_STAKE);
        INodeRegistry.NodeParams memory params = _params(signer, "peer-op");
        params.pricePerMillionInput = priceIn;
        params.pricePerMillionOutput = priceOut;
        vm.prank(operator);
        registry.register(params, _proof(operator, params), stake);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.stake, stake);
        assertEq(node.pricePerMillionInput, priceIn);
        assertEq(node.pricePerMillionOutput, priceOut);
        assertEq(token.balanceOf(address(registry)), stake);
    }

    // ------------------------------------------------------------ onTokenTransfer

    function test_onTokenTransfer_addsStake() public {
        _register();
        vm.prank(operator);
        token.transferAndCall(address(registry), 5, abi.encodeCall(INodeRegistry.addStake, (0)));
        assertEq(registry.getNode(operator).stake, MIN_STAKE + 5);
    }

    function test_onTokenTransfer_revertsForOtherCallers() public {
        vm.expectRevert(INodeRegistry.OnlyToken.selector);
        registry.onTokenTransfer(alice, 1, "");
    }

    function test_onTokenTransfer_revertsOnUnsupportedAction() public {
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnsupportedTokenAction.selector, bytes4(0)));
        token.transferAndCall(address(registry), 1, hex"01");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnsupportedTokenAction.selector, bytes4(0xdeadbeef)));
        token.transferAndCall(address(registry), 1, hex"deadbeef");
        vm.stopPrank();
    }

    // ------------------------------------------------------------ update

    function test_update_replacesDeclarationAndLookups() public {
        _register();
        INodeRegistry.NodeParams memory params = _params(bob, "peer-new");
        params.models = _models(keccak256("m2"));
        params.metadataURI = "ipfs://v2";
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeUpdated(operator, bob, bytes("peer-new"), params.models, 1e18, 2e18, "ipfs://v2");
        vm.prank(operator);
        registry.update(params, _proof(operator, params));
        assertEq(registry.operatorOfSigner(signer), address(0));
        assertEq(registry.operatorOfSigner(bob), operator);
        // The replaced signer is retired: no longer active, still slashable through its operator.
        assertEq(registry.activeOperatorOf(signer), address(0));
        assertEq(registry.activeOperatorOf(bob), operator);
        assertEq(registry.slashableOperatorOf(signer), operator);
        assertEq(registry.slashableOperatorOf(bob), operator);
        assertEq(registry.operatorOfPeerId(bytes("peer-op")), address(0));
        assertEq(registry.operatorOfPeerId(bytes("peer-new")), operator);
        assertTrue(registry.servesModel(operator, keccak256("m2")));
        assertFalse(registry.servesModel(operator, MODEL));
        assertEq(registry.getNode(operator).metadataURI, "ipfs://v2");
    }

    function test_update_keepsSameSignerAndPeer() public {
        _register();
        INodeRegistry.NodeParams memory params = _params(signer, "peer-op");
        params.pricePerMillionInput = 9;
        vm.prank(operator);
        registry.update(params, _proof(operator, params));
        assertEq(registry.getNode(operator).pricePerMillionInput, 9);
        assertEq(registry.operatorOfSigner(signer), operator);
    }

    /// @dev Squatting a retired signer: before the fix `update` freed it, so another operator could bind it and the
    /// equivocation proofs against it would slash the wrong node (or none).
    function test_update_retiredSignerStaysWithItsOperator() public {
        _register();
        INodeRegistry.NodeParams memory params = _params(bob, "peer-op");
        vm.prank(operator);
        registry.update(params, _proof(operator, params));
        // Even with the retired signer's own consent, another operator cannot take it.
        INodeRegistry.NodeParams memory aliceParams = _params(signer, "peer-alice");
        bytes memory consent = _proof(alice, aliceParams, 1);
        _fund(alice, MIN_STAKE);
        vm.startPrank(alice);
        token.approve(address(registry), MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.SignerTaken.selector, signer, operator));
        registry.register(aliceParams, consent, MIN_STAKE);
        vm.stopPrank();
    }

    /// @dev Re-binding a retired signer needs a fresh proof: the first one's nonce is used up.
    function test_update_rebindingRetiredSignerNeedsFreshProof() public {
        _register();
        INodeRegistry.NodeParams memory toBob = _params(bob, "peer-op");
        INodeRegistry.NodeParams memory back = _params(signer, "peer-op");
        bytes memory replayed = _proof(operator, back, 0);
        bytes memory fresh = _proof(operator, back, 1);
        assertEq(registry.signerNonces(signer), 1);
        vm.startPrank(operator);
        registry.update(toBob, _proof(operator, toBob));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, signer));
        registry.update(back, replayed);
        registry.update(back, fresh);
        vm.stopPrank();
        assertEq(registry.activeOperatorOf(signer), operator);
        assertEq(registry.activeOperatorOf(bob), address(0));
        assertEq(registry.signerNonces(signer), 2);
    }

    function test_update_revertsWithoutNewSignersProof() public {
        _register();
        INodeRegistry.NodeParams memory params = _params(bob, "peer-op");
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, bob));
        registry.update(params, "");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InvalidSignerProof.selector, bob));
        registry.update(params, _proof(operator, _params(signer, "peer-op"), 1)); // signed by the old signer
        vm.stopPrank();
    }

    function test_update_revertsWhenNotActive() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotActive.selector, operator));
        registry.update(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")));
    }

    // ------------------------------------------------------------ stake

    function test_addStake_increasesStake() public {
        _register();
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeAdded(operator, 10, MIN_STAKE + 10);
        vm.prank(operator);
        registry.addStake(10);
        assertEq(registry.getNode(operator).stake, MIN_STAKE + 10);
    }

    function test_addStake_revertsOnZero() public {
        _register();
        vm.prank(operator);
        vm.expectRevert(INodeRegistry.ZeroAmount.selector);
        registry.addStake(0);
    }

    function test_addStake_revertsWhenNotRegistered() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, operator));
        registry.addStake(1);
    }

    function test_unbond_movesStakeIntoUnbonding() public {
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE + 100);
        vm.prank(operator);
        registry.unbond(100);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.stake, MIN_STAKE);
        assertEq(node.unbonding, 100);
        assertEq(node.unbondingEnds, block.timestamp + UNBONDING_DELAY);
    }

    function test_unbond_reverts() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotActive.selector, operator));
        registry.unbond(1);
        _register();
        vm.startPrank(operator);
        vm.expectRevert(INodeRegistry.ZeroAmount.selector);
        registry.unbond(0);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.AmountExceedsStake.selector, MIN_STAKE + 1, MIN_STAKE));
        registry.unbond(MIN_STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.InsufficientStake.selector, MIN_STAKE - 1, MIN_STAKE));
        registry.unbond(1);
        vm.stopPrank();
    }

    function test_deregister_startsUnbondingAndDelists() public {
        _register();
        vm.expectEmit(address(registry));
        emit INodeRegistry.NodeDeregistered(operator, MIN_STAKE, uint64(block.timestamp) + UNBONDING_DELAY);
        vm.prank(operator);
        registry.deregister();
        assertFalse(registry.isActive(operator));
        assertEq(registry.activeNodeCount(), 0);
        assertEq(registry.getNode(operator).unbonding, MIN_STAKE);
        assertEq(registry.activeOperatorOf(signer), address(0));
        assertFalse(registry.servesModel(operator, MODEL));
    }

    function test_deregister_revertsWhenNotActive() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotActive.selector, operator));
        registry.deregister();
    }

    function test_withdraw_afterUnbondingDelay() public {
        _register();
        vm.prank(operator);
        registry.deregister();
        uint256 before = token.balanceOf(operator);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.prank(operator);
        registry.withdraw();
        assertEq(token.balanceOf(operator), before + MIN_STAKE);
        assertEq(token.balanceOf(address(registry)), 0);
    }

    function test_withdraw_revertsBeforeDelay() public {
        _register();
        vm.prank(operator);
        registry.deregister();
        uint64 ends = uint64(block.timestamp) + UNBONDING_DELAY;
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingNotFinished.selector, ends));
        registry.withdraw();
    }

    function test_withdraw_revertsWhenNothingUnbonding() public {
        vm.prank(operator);
        vm.expectRevert(INodeRegistry.NothingToWithdraw.selector);
        registry.withdraw();
    }

    // ------------------------------------------------------------ slash

    function test_slash_takesStakeRewardsAndDeactivates() public {
        _register();
        uint256 treasuryBefore = token.balanceOf(governor);
        vm.prank(verifier);
        uint256 slashed = registry.slash(operator, 600e18, bob);
        assertEq(slashed, 600e18);
        assertEq(token.balanceOf(bob), 30e18); // 5%
        assertEq(token.balanceOf(governor), treasuryBefore + 570e18);
        // 400 left is below the minimum: the node stops and its rest unbonds.
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertFalse(node.active);
        assertEq(node.stake, 0);
        assertEq(node.unbonding, 400e18);
    }

    function test_slash_reachesUnbondingStake() public {
        _register();
        vm.prank(operator);
        registry.deregister();
        vm.prank(verifier);
        uint256 slashed = registry.slash(operator, type(uint256).max, bob);
        assertEq(slashed, MIN_STAKE);
        assertEq(registry.getNode(operator).unbonding, 0);
    }

    function test_slash_keepsWhitelistedNodeActive() public {
        vm.prank(governor);
        registry.setWhitelisted(operator, true);
        _register();
        vm.prank(verifier);
        registry.slash(operator, type(uint256).max, bob);
        assertTrue(registry.isActive(operator));
        assertEq(registry.getNode(operator).stake, 0);
    }

    function test_slash_zeroStakeMovesNothing() public {
        vm.prank(governor);
        registry.setWhitelisted(operator, true);
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), 0);
        vm.prank(verifier);
        assertEq(registry.slash(operator, 1, bob), 0);
    }

    function test_slash_revertsForNonVerifier() public {
        _register();
        bytes32 role = registry.VERIFIER_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        registry.slash(operator, 1, alice);
    }

    function test_slash_revertsForUnknownNode() public {
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeNotRegistered.selector, alice));
        registry.slash(alice, 1, bob);
    }

    function testFuzz_slash(uint256 stake, uint256 amount) public {
        stake = bound(stake, MIN_STAKE, 10 * MIN_STAKE);
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), stake);
        uint256 before = token.balanceOf(address(registry));
        vm.prank(verifier);
        uint256 slashed = registry.slash(operator, amount, bob);
        assertEq(slashed, amount < stake ? amount : stake);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(token.balanceOf(address(registry)), before - slashed);
        assertEq(node.stake + node.unbonding, stake - slashed);
    }

    // ------------------------------------------------------------ governor

    function test_setWhitelisted_removalDeactivatesUnderstakedNode() public {
        vm.startPrank(governor);
        registry.setWhitelisted(operator, true);
        vm.stopPrank();
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), 0);
        vm.expectEmit(address(registry));
        emit INodeRegistry.WhitelistSet(operator, false);
        vm.prank(governor);
        registry.setWhitelisted(operator, false);
        assertFalse(registry.isActive(operator));
    }

    function test_setWhitelisted_removalKeepsStakedNode() public {
        _register();
        vm.startPrank(governor);
        registry.setWhitelisted(operator, true);
        registry.setWhitelisted(operator, false);
        vm.stopPrank();
        assertTrue(registry.isActive(operator));
    }

    function test_setWhitelisted_revertsOnZeroAddress() public {
        vm.prank(governor);
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        registry.setWhitelisted(address(0), true);
    }

    function test_governorSetters_updateAndEmit() public {
        vm.startPrank(governor);
        vm.expectEmit(address(registry));
        emit INodeRegistry.MinStakeSet(5);
        registry.setMinStake(5);
        vm.expectEmit(address(registry));
        emit INodeRegistry.UnbondingDelaySet(1 days);
        registry.setUnbondingDelay(1 days);
        vm.expectEmit(address(registry));
        emit INodeRegistry.TreasurySet(alice);
        registry.setTreasury(alice);
        vm.expectEmit(address(registry));
        emit INodeRegistry.ProverRewardSet(1000);
        registry.setProverRewardBps(1000);
        vm.stopPrank();
        assertEq(registry.proverRewardBps(), 1000);
        assertEq(registry.minStake(), 5);
        assertEq(registry.unbondingDelay(), 1 days);
        assertEq(registry.treasury(), alice);
    }

    function test_governorSetters_revertOnBadValues() public {
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.UnbondingDelayTooLong.selector, 91 days));
        registry.setUnbondingDelay(91 days);
        vm.expectRevert(INodeRegistry.ZeroAddress.selector);
        registry.setTreasury(address(0));
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.ProverRewardTooHigh.selector, 1001));
        registry.setProverRewardBps(1001);
        vm.stopPrank();
    }

    function test_governorSetters_revertForOthers() public {
        bytes32 role = registry.GOVERNOR_ROLE();
        bytes memory err = abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role);
        vm.startPrank(alice);
        vm.expectRevert(err);
        registry.setMinStake(1);
        vm.expectRevert(err);
        registry.setUnbondingDelay(1);
        vm.expectRevert(err);
        registry.setTreasury(alice);
        vm.expectRevert(err);
        registry.setProverRewardBps(0);
        vm.expectRevert(err);
        registry.setWhitelisted(alice, true);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ listing

    function test_activeNodes_pages() public {
        _registerNode("n1");
        _registerNode("n2");
        (address n3,,) = _registerNode("n3");
        assertEq(registry.activeNodeCount(), 3);
        (INodeRegistry.Node[] memory page, uint256 total) = registry.activeNodes(1, 5);
        assertEq(total, 3);
        assertEq(page.length, 2);
        assertEq(page[1].operator, n3);
        (page, total) = registry.activeNodes(0, 1);
        assertEq(page.length, 1);
        (page, total) = registry.activeNodes(3, 1);
        assertEq(page.length, 0);
        (page, total) = registry.activeNodes(10, 1);
        assertEq(page.length, 0);
    }

    function testFuzz_activeNodes(uint8 count, uint256 offset, uint256 limit) public {
        count = uint8(bound(count, 0, 12));
        offset = bound(offset, 0, 20);
        limit = bound(limit, 0, 20);
        for (uint256 i; i < count; ++i) {
            _registerNode(string.concat("node", vm.toString(i)));
        }
        (INodeRegistry.Node[] memory page, uint256 total) = registry.activeNodes(offset, limit);
        assertEq(total, count);
        uint256 expected = offset >= count ? 0 : (count - offset < limit ? count - offset : limit);
        assertEq(page.length, expected);
    }

    // ------------------------------------------------------------ splits

    function test_withdraw_afterSplitReturnsScaledStake() public {
        vm.startPrank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), 2 * MIN_STAKE);
        registry.unbond(MIN_STAKE / 2);
        vm.stopPrank();
        _splitNow(3);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.stake, MIN_STAKE * 3 / 2 * 3);
        assertEq(node.unbonding, MIN_STAKE / 2 * 3);
        assertEq(node.splitEpoch, 1);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE * 6);

        vm.prank(operator);
        registry.deregister();
        assertEq(registry.getNode(operator).unbonding, MIN_STAKE * 6);
        uint256 before = token.balanceOf(operator);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.expectEmit(address(registry));
        emit INodeRegistry.StakeWithdrawn(operator, MIN_STAKE * 6);
        vm.prank(operator);
        registry.withdraw();
        assertEq(token.balanceOf(operator), before + MIN_STAKE * 6);
        assertEq(token.balanceOf(address(registry)), 0);
    }

    function test_withdraw_unbondedBeforeSplitPaysScaled() public {
        _register();
        vm.prank(operator);
        registry.deregister();
        vm.warp(block.timestamp + UNBONDING_DELAY);
        _splitNow(2);
        _splitNow(5);
        uint256 before = token.balanceOf(operator);
        vm.prank(operator);
        registry.withdraw();
        assertEq(token.balanceOf(operator), before + MIN_STAKE * 10);
        assertEq(token.balanceOf(address(registry)), 0);
    }

    function test_addStake_afterSplitAddsCurrentTokens() public {
        _register();
        _splitNow(2);
        vm.prank(operator);
        registry.addStake(1);
        assertEq(registry.getNode(operator).stake, MIN_STAKE * 2 + 1);
        (INodeRegistry.Node[] memory page,) = registry.activeNodes(0, 10);
        assertEq(page[0].stake, MIN_STAKE * 2 + 1);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE * 2 + 1);
    }

    function test_slash_afterSplitTakesScaledStake() public {
        _register();
        _splitNow(4);
        vm.prank(verifier);
        uint256 slashed = registry.slash(operator, type(uint256).max, bob);
        assertEq(slashed, MIN_STAKE * 4);
        assertEq(token.balanceOf(bob), MIN_STAKE * 4 * 500 / 10_000);
        assertEq(token.balanceOf(address(registry)), 0);
    }

    function test_register_againAfterSplitKeepsUnbondingScaled() public {
        _register();
        vm.prank(operator);
        registry.deregister();
        _splitNow(2);
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.stake, MIN_STAKE);
        assertEq(node.unbonding, MIN_STAKE * 2);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE * 3);
    }

    function test_activeNodes_viewsRescaleBeforeSettlement() public {
        vm.prank(operator);
        registry.register(_params(signer, "peer-op"), _proof(operator, _params(signer, "peer-op")), MIN_STAKE + 1);
        vm.prank(governor);
        token.startSplit(7);
        // Pending: nothing changes yet, and unbonding needs no transfer so it still works.
        assertEq(registry.getNode(operator).stake, MIN_STAKE + 1);
        vm.prank(operator);
        registry.unbond(1);
        vm.roll(block.number + PAUSE_BLOCKS);
        INodeRegistry.Node memory node = registry.getNode(operator);
        assertEq(node.stake, MIN_STAKE * 7);
        assertEq(node.unbonding, 7);
        assertEq(token.balanceOf(address(registry)), (MIN_STAKE + 1) * 7);
    }
}

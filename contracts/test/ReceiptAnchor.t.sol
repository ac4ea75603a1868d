// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../src/interfaces/INodeRegistry.sol";
import {IReceiptAnchor} from "../src/interfaces/IReceiptAnchor.sol";
import {TypedHashes} from "../src/libraries/TypedHashes.sol";
import {Receipt as ReceiptData} from "../src/types/Receipt.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

contract ReceiptAnchorTest is BaseTest {
    address internal operator;
    address internal signer;
    uint256 internal signerKey;

    bytes32 internal constant REQUEST = keccak256("request");

    function setUp() public override {
        super.setUp();
        (operator, signer, signerKey) = _registerNode("node");
    }

    /// @dev A 4-leaf tree built the way `src/core/merkle.ts` builds it (sorted pairs).
    function _tree(bytes32[4] memory hashes) internal pure returns (bytes32 root, bytes32[] memory proofOf0) {
        bytes32 l0 = TypedHashes.receiptLeaf(hashes[0]);
        bytes32 l1 = TypedHashes.receiptLeaf(hashes[1]);
        bytes32 l2 = TypedHashes.receiptLeaf(hashes[2]);
        bytes32 l3 = TypedHashes.receiptLeaf(hashes[3]);
        bytes32 a = _pair(l0, l1);
        bytes32 b = _pair(l2, l3);
        root = _pair(a, b);
        proofOf0 = new bytes32[](2);
        proofOf0[0] = l1;
        proofOf0[1] = b;
    }

    function _pair(bytes32 x, bytes32 y) internal pure returns (bytes32) {
        return x < y ? keccak256(abi.encode(x, y)) : keccak256(abi.encode(y, x));
    }

    // ------------------------------------------------------------ anchor

    function test_anchor_byOperatorAndSigner() public {
        vm.expectEmit(address(anchor));
        emit IReceiptAnchor.RootAnchored(bytes32(uint256(1)), operator, 3);
        vm.prank(operator);
        anchor.anchor(bytes32(uint256(1)), 3);
        vm.prank(signer);
        anchor.anchor(bytes32(uint256(2)), 4);
        IReceiptAnchor.Anchor memory a = anchor.getAnchor(operator, bytes32(uint256(2)));
        assertEq(a.operator, operator);
        assertEq(a.count, 4);
        assertEq(a.timestamp, block.timestamp);
    }

    function test_anchor_reverts() public {
        vm.startPrank(operator);
        vm.expectRevert(IReceiptAnchor.EmptyRoot.selector);
        anchor.anchor(bytes32(0), 1);
        vm.expectRevert(IReceiptAnchor.ZeroCount.selector);
        anchor.anchor(bytes32(uint256(1)), 0);
        anchor.anchor(bytes32(uint256(1)), 1);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.RootAlreadyAnchored.selector, bytes32(uint256(1))));
        anchor.anchor(bytes32(uint256(1)), 1);
        vm.stopPrank();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.NotRegisteredNode.selector, alice));
        anchor.anchor(bytes32(uint256(9)), 1);
    }

    /// @dev The front-running attack: another node anchors the victim's root first. The victim's anchor still
    /// lands, and each anchor answers for its own operator only.
    function test_anchor_sameRootByAnotherNodeDoesNotPreemptIt() public {
        (address rival, address rivalSigner,) = _registerNode("rival");
        bytes32[4] memory hashes = [keccak256("r0"), keccak256("r1"), keccak256("r2"), keccak256("r3")];
        (bytes32 root, bytes32[] memory proof) = _tree(hashes);
        vm.prank(rivalSigner);
        anchor.anchor(root, 1);
        assertFalse(anchor.verifyReceipt(operator, root, hashes[0], proof));
        assertEq(anchor.getAnchor(operator, root).operator, address(0));

        vm.prank(signer);
        anchor.anchor(root, 4);
        assertTrue(anchor.verifyReceipt(operator, root, hashes[0], proof));
        assertEq(anchor.getAnchor(operator, root).count, 4);
        assertEq(anchor.getAnchor(rival, root).count, 1);
        assertEq(anchor.getAnchor(rival, root).operator, rival);
    }

    function test_anchor_revertsForRetiredSigner() public {
        address fresh = _rememberKey("fresh-signer");
        INodeRegistry.NodeParams memory params = _params(fresh, "peer-node");
        vm.prank(operator);
        registry.update(params, _proof(operator, params));
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.NotRegisteredNode.selector, signer));
        anchor.anchor(bytes32(uint256(9)), 1);
        vm.prank(fresh);
        anchor.anchor(bytes32(uint256(9)), 1);
        assertEq(anchor.getAnchor(operator, bytes32(uint256(9))).count, 1);
    }

    function test_anchor_revertsForDeregisteredNode() public {
        vm.prank(operator);
        registry.deregister();
        vm.prank(signer);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.NotRegisteredNode.selector, signer));
        anchor.anchor(bytes32(uint256(9)), 1);
    }

    // ------------------------------------------------------------ verify

    function test_verifyReceipt_provesInclusion() public {
        bytes32[4] memory hashes = [keccak256("r0"), keccak256("r1"), keccak256("r2"), keccak256("r3")];
        (bytes32 root, bytes32[] memory proof) = _tree(hashes);
        assertFalse(anchor.verifyReceipt(operator, root, hashes[0], proof)); // not anchored yet
        vm.prank(operator);
        anchor.anchor(root, 4);
        assertTrue(anchor.verifyReceipt(operator, root, hashes[0], proof));
        assertFalse(anchor.verifyReceipt(operator, root, hashes[1], proof));
        assertFalse(anchor.verifyReceipt(alice, root, hashes[0], proof)); // anchored by another operator
        assertTrue(MerkleProof.verify(proof, root, anchor.receiptLeaf(hashes[0])));
    }

    function testFuzz_verifyReceipt(bytes32[4] memory hashes) public {
        (bytes32 root, bytes32[] memory proof) = _tree(hashes);
        vm.prank(operator);
        anchor.anchor(root, 4);
        assertTrue(anchor.verifyReceipt(operator, root, hashes[0], proof));
    }

    // ------------------------------------------------------------ hashing

    function test_hashReceipt_isEip712Digest() public view {
        ReceiptData memory r = _receipt(signer, REQUEST, keccak256("out"));
        // Member by member, as EIP-712 encodeData lays them out (in two halves to stay clear of stack-too-deep).
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    keccak256(
                        "Receipt(bytes32 requestHash,bytes32 outputHash,bytes32 modelHash,address nodeSigner,address consumer,uint64 promptTokens,uint64 completionTokens,uint256 cost,uint256 channelId,uint256 cumulativePaid,uint64 timestamp,bool deterministic)"
                    ),
                    r.requestHash,
                    r.outputHash,
                    r.modelHash,
                    r.nodeSigner,
                    r.consumer
                ),
                abi.encode(
                    r.promptTokens,
                    r.completionTokens,
                    r.cost,
                    r.channelId,
                    r.cumulativePaid,
                    r.timestamp,
                    r.deterministic
                )
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Modelex"),
                keccak256("1"),
                block.chainid,
                address(anchor)
            )
        );
        assertEq(anchor.domainSeparator(), domain);
        assertEq(anchor.hashReceipt(r), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    // ------------------------------------------------------------ equivocation

    function test_proveEquivocation_slashesAndRewards() public {
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, REQUEST, keccak256("out-b"));
        bytes memory sigA = _signReceipt(signerKey, a);
        bytes memory sigB = _signReceipt(signerKey, b);
        uint256 treasuryBefore = token.balanceOf(registry.treasury());
        vm.expectEmit(address(anchor));
        emit IReceiptAnchor.EquivocationProven(operator, signer, REQUEST, bob, MIN_STAKE);
        vm.prank(bob);
        uint256 slashed = anchor.proveEquivocation(a, sigA, b, sigB);
        assertEq(slashed, MIN_STAKE);
        assertEq(token.balanceOf(bob), MIN_STAKE * 500 / 10_000);
        assertEq(token.balanceOf(registry.treasury()) - treasuryBefore, MIN_STAKE - MIN_STAKE * 500 / 10_000);
        assertFalse(registry.isActive(operator));
        assertEq(registry.getNode(operator).stake + registry.getNode(operator).unbonding, 0);
    }

    /// @dev The escape: the node equivocates, then rotates its signer (or front-runs the proof with the rotation).
    /// The retired signer stays bound to the operator, so the proof still slashes it.
    function test_proveEquivocation_slashesAfterSignerRotation() public {
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, REQUEST, keccak256("out-b"));
        bytes memory sigA = _signReceipt(signerKey, a);
        bytes memory sigB = _signReceipt(signerKey, b);
        address fresh = _rememberKey("fresh-signer");
        INodeRegistry.NodeParams memory params = _params(fresh, "peer-node");
        vm.prank(operator);
        registry.update(params, _proof(operator, params));
        assertEq(registry.activeOperatorOf(signer), address(0));
        assertEq(registry.slashableOperatorOf(signer), operator);

        vm.prank(bob);
        uint256 slashed = anchor.proveEquivocation(a, sigA, b, sigB);
        assertEq(slashed, MIN_STAKE);
        assertEq(registry.getNode(operator).stake + registry.getNode(operator).unbonding, 0);
    }

    /// @dev Rotating and deregistering does not help either: the unbonding stake is slashed.
    function test_proveEquivocation_slashesUnbondingAfterRotationAndDeregister() public {
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, REQUEST, keccak256("out-b"));
        address fresh = _rememberKey("fresh-signer");
        INodeRegistry.NodeParams memory params = _params(fresh, "peer-node");
        vm.startPrank(operator);
        registry.update(params, _proof(operator, params));
        registry.deregister();
        vm.stopPrank();
        vm.warp(block.timestamp + UNBONDING_DELAY - 1);
        uint256 slashed = anchor.proveEquivocation(a, _signReceipt(signerKey, a), b, _signReceipt(signerKey, b));
        assertEq(slashed, MIN_STAKE);
        assertEq(registry.getNode(operator).unbonding, 0);
    }

    /// @dev A cheater proving its own equivocation from a fresh address recovers only the prover's reward, at most
    /// `MAX_PROVER_REWARD_BPS`: it loses at least 90% of its stake whatever the governor set.
    function testFuzz_proveEquivocation_selfProvingLosesAtLeast90Percent(uint256 bps, bytes32 request) public {
        bps = bound(bps, 0, registry.MAX_PROVER_REWARD_BPS());
        vm.prank(governor);
        registry.setProverRewardBps(bps);
        address accomplice = makeAddr("cheater-fresh-address");
        ReceiptData memory a = _receipt(signer, request, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, request, keccak256("out-b"));
        bytes memory sigA = _signReceipt(signerKey, a);
        bytes memory sigB = _signReceipt(signerKey, b);
        vm.prank(accomplice);
        anchor.proveEquivocation(a, sigA, b, sigB);
        uint256 recovered = token.balanceOf(accomplice) + token.balanceOf(operator) + token.balanceOf(signer);
        assertLe(recovered, MIN_STAKE / 10);
        assertEq(recovered, MIN_STAKE * bps / 10_000);
    }

    function test_proveEquivocation_revertsWhenProvenTwice() public {
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, REQUEST, keccak256("out-b"));
        bytes memory sigA = _signReceipt(signerKey, a);
        bytes memory sigB = _signReceipt(signerKey, b);
        anchor.proveEquivocation(a, sigA, b, sigB);
        bytes32 key = keccak256(abi.encode(signer, REQUEST, MODEL));
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.AlreadyProven.selector, key));
        anchor.proveEquivocation(b, sigB, a, sigA);
    }

    function test_proveEquivocation_revertsOnMismatches() public {
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(alice, REQUEST, keccak256("out-b"));
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.SignerMismatch.selector, signer, alice));
        anchor.proveEquivocation(a, "", b, "");

        b = _receipt(signer, keccak256("other request"), keccak256("out-b"));
        vm.expectRevert(IReceiptAnchor.RequestMismatch.selector);
        anchor.proveEquivocation(a, "", b, "");

        b = _receipt(signer, REQUEST, keccak256("out-b"));
        b.modelHash = keccak256("other model");
        vm.expectRevert(IReceiptAnchor.ModelMismatch.selector);
        anchor.proveEquivocation(a, "", b, "");

        b = _receipt(signer, REQUEST, keccak256("out-b"));
        b.deterministic = false;
        vm.expectRevert(IReceiptAnchor.NotDeterministic.selector);
        anchor.proveEquivocation(a, "", b, "");
        vm.expectRevert(IReceiptAnchor.NotDeterministic.selector);
        anchor.proveEquivocation(b, "", a, "");

        b = _receipt(signer, REQUEST, keccak256("out-a"));
        vm.expectRevert(IReceiptAnchor.SameOutput.selector);
        anchor.proveEquivocation(a, "", b, "");
    }

    function test_proveEquivocation_revertsOnForgedSignature() public {
        (address forger, uint256 forgerKey) = makeAddrAndKey("forger");
        ReceiptData memory a = _receipt(signer, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(signer, REQUEST, keccak256("out-b"));
        bytes memory sigA = _signReceipt(signerKey, a);
        bytes memory sigB = _signReceipt(forgerKey, b);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.InvalidReceiptSignature.selector, forger, signer));
        anchor.proveEquivocation(a, sigA, b, sigB);
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 0));
        anchor.proveEquivocation(a, "", b, sigB);
    }

    function test_proveEquivocation_revertsOnUnknownSigner() public {
        (address stranger, uint256 strangerKey) = makeAddrAndKey("stranger");
        ReceiptData memory a = _receipt(stranger, REQUEST, keccak256("out-a"));
        ReceiptData memory b = _receipt(stranger, REQUEST, keccak256("out-b"));
        bytes memory sigA = _signReceipt(strangerKey, a);
        bytes memory sigB = _signReceipt(strangerKey, b);
        vm.expectRevert(abi.encodeWithSelector(IReceiptAnchor.UnknownSigner.selector, stranger));
        anchor.proveEquivocation(a, sigA, b, sigB);
    }

    function testFuzz_proveEquivocation(bytes32 request, bytes32 outA, bytes32 outB) public {
        vm.assume(outA != outB);
        ReceiptData memory a = _receipt(signer, request, outA);
        ReceiptData memory b = _receipt(signer, request, outB);
        uint256 slashed = anchor.proveEquivocation(a, _signReceipt(signerKey, a), b, _signReceipt(signerKey, b));
        assertEq(slashed, MIN_STAKE);
    }
}

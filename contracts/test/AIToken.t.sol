// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AIToken} from "../src/AIToken.sol";
import {IAIToken} from "../src/interfaces/IAIToken.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {MockReceiver, RejectingReceiver} from "./utils/Mocks.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

contract AITokenTest is BaseTest {
    uint256 internal constant SUPPLY = 1_000_000_000e18;

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    function _startSplit(uint256 factor) internal {
        vm.prank(governor);
        token.startSplit(factor);
    }

    function _permitSignature(
        uint256 key,
        address owner,
        address spender,
        uint256 value,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline));
        return vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    // ------------------------------------------------------------ constructor and metadata

    function test_constructor_mintsFixedSupplyToTreasury() public view {
        assertEq(token.name(), "Modelex AI");
        assertEq(token.symbol(), "AI");
        assertEq(token.decimals(), 18);
        assertEq(token.totalSupply(), SUPPLY);
        assertEq(token.balanceOf(governor), SUPPLY);
        assertEq(token.INITIAL_SUPPLY(), SUPPLY);
        assertTrue(token.hasRole(token.GOVERNOR_ROLE(), governor));
        assertEq(token.splitPauseBlocks(), PAUSE_BLOCKS);
        assertEq(token.scale(), 1);
        assertEq(token.splitEpoch(), 0);
    }

    function test_constructor_revertsOnZeroTreasury() public {
        vm.expectRevert(IAIToken.ZeroAddress.selector);
        new AIToken(address(0), governor, 1);
    }

    function test_constructor_revertsOnZeroGovernor() public {
        vm.expectRevert(IAIToken.ZeroAddress.selector);
        new AIToken(governor, address(0), 1);
    }

    function test_constructor_revertsOnLongSplitPause() public {
        vm.expectRevert(abi.encodeWithSelector(IAIToken.SplitPauseTooLong.selector, 1_000_001));
        new AIToken(governor, governor, 1_000_001);
    }

    // ------------------------------------------------------------ ERC-20

    function test_transfer_movesBalance() public {
        vm.prank(governor);
        assertTrue(token.transfer(alice, 5e18));
        assertEq(token.balanceOf(alice), 5e18);
        assertEq(token.balanceOf(governor), SUPPLY - 5e18);
    }

    function test_transfer_revertsOnInsufficientBalance() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 0, 1));
        token.transfer(bob, 1);
    }

    function test_transfer_revertsOnZeroReceiver() public {
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        token.transfer(address(0), 1);
    }

    function test_approve_setsAllowance() public {
        vm.prank(alice);
        assertTrue(token.approve(bob, 7));
        assertEq(token.allowance(alice, bob), 7);
    }

    function test_approve_revertsOnZeroSpender() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSpender.selector, address(0)));
        token.approve(address(0), 1);
    }

    function test_approve_maxIsUnlimited() public {
        vm.prank(governor);
        token.approve(bob, type(uint256).max);
        vm.prank(bob);
        token.transferFrom(governor, alice, 10);
        assertEq(token.allowance(governor, bob), type(uint256).max);
    }

    function test_transferFrom_spendsAllowance() public {
        vm.prank(governor);
        token.approve(bob, 10);
        vm.prank(bob);
        assertTrue(token.transferFrom(governor, alice, 4));
        assertEq(token.allowance(governor, bob), 6);
        assertEq(token.balanceOf(alice), 4);
    }

    function test_transferFrom_revertsOnInsufficientAllowance() public {
        vm.prank(governor);
        token.approve(bob, 3);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bob, 3, 4));
        token.transferFrom(governor, alice, 4);
    }

    function testFuzz_transfer(uint256 amount, address to) public {
        vm.assume(to != address(0) && to != governor);
        amount = bound(amount, 0, SUPPLY);
        vm.prank(governor);
        token.transfer(to, amount);
        assertEq(token.balanceOf(to), amount);
        assertEq(token.balanceOf(governor) + token.balanceOf(to), SUPPLY);
    }

    // ------------------------------------------------------------ permit

    function test_permit_setsAllowanceFromSignature() public {
        (address owner, uint256 key) = makeAddrAndKey("permit-owner");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(key, owner, bob, 100, 0, deadline);
        token.permit(owner, bob, 100, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), 100);
        assertEq(token.nonces(owner), 1);
    }

    function test_permit_revertsWhenExpired() public {
        (address owner, uint256 key) = makeAddrAndKey("permit-owner");
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(key, owner, bob, 100, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(owner, bob, 100, deadline, v, r, s);
    }

    function test_permit_revertsOnWrongSigner() public {
        (address owner,) = makeAddrAndKey("permit-owner");
        (address other, uint256 otherKey) = makeAddrAndKey("other");
        uint256 deadline = block.timestamp + 1;
        (uint8 v, bytes32 r, bytes32 s) = _permitSignature(otherKey, owner, bob, 100, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, other, owner));
        token.permit(owner, bob, 100, deadline, v, r, s);
    }

    // ------------------------------------------------------------ ERC-677

    function test_transferAndCall_callsReceiverContract() public {
        MockReceiver receiver = new MockReceiver();
        vm.prank(governor);
        assertTrue(token.transferAndCall(address(receiver), 42, hex"beef"));
        assertEq(token.balanceOf(address(receiver)), 42);
        assertEq(receiver.lastFrom(), governor);
        assertEq(receiver.lastValue(), 42);
        assertEq(receiver.lastData(), hex"beef");
    }

    function test_transferAndCall_toAccountJustTransfers() public {
        vm.prank(governor);
        assertTrue(token.transferAndCall(alice, 42, hex"beef"));
        assertEq(token.balanceOf(alice), 42);
    }

    function test_transferAndCall_revertsWhenReceiverRejects() public {
        RejectingReceiver receiver = new RejectingReceiver();
        vm.prank(governor);
        vm.expectRevert(RejectingReceiver.Rejected.selector);
        token.transferAndCall(address(receiver), 42, "");
    }

    // ------------------------------------------------------------ split

    function test_startSplit_pausesTransfersThenScalesEverything() public {
        vm.startPrank(governor);
        token.transfer(alice, 100);
        token.approve(bob, 30);
        token.approve(alice, type(uint256).max);
        vm.stopPrank();

        uint256 effective = block.number + PAUSE_BLOCKS;
        vm.expectEmit(address(token));
        emit IAIToken.SplitStarted(3, effective);
        _startSplit(3);

        assertTrue(token.transfersPaused());
        (uint256 factor, uint256 effectiveBlock) = token.pendingSplit();
        assertEq(factor, 3);
        assertEq(effectiveBlock, effective);
        assertEq(token.balanceOf(alice), 100);

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAIToken.TransfersPaused.selector, effective));
        token.transfer(bob, 1);

        vm.roll(effective);
        assertFalse(token.transfersPaused());
        (factor,) = token.pendingSplit();
        assertEq(factor, 0);
        assertEq(token.totalSupply(), SUPPLY * 3);
        assertEq(token.balanceOf(alice), 300);
        assertEq(token.balanceOf(governor), (SUPPLY - 100) * 3);
        assertEq(token.allowance(governor, bob), 90);
        assertEq(token.allowance(governor, alice), type(uint256).max);
        assertEq(token.scale(), 3);
        assertEq(token.splitEpoch(), 1);

        vm.expectEmit(address(token));
        emit IAIToken.SplitExecuted(3, 1, 3);
        vm.prank(alice);
        token.transfer(bob, 1);
        assertEq(token.balanceOf(alice), 299);
        assertEq(token.balanceOf(bob), 1);
        assertEq(token.totalSupply(), SUPPLY * 3);

        vm.prank(bob);
        token.transferFrom(governor, bob, 90);
        assertEq(token.allowance(governor, bob), 0);
    }

    function test_startSplit_compoundsAcrossSplits() public {
        _fund(alice, 7);
        _startSplit(2);
        vm.roll(block.number + PAUSE_BLOCKS);
        _fund(bob, 1); // settles the first split
        _startSplit(5);
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.balanceOf(alice), 70);
        assertEq(token.balanceOf(bob), 5);
        assertEq(token.scale(), 10);
        assertEq(token.splitEpoch(), 2);
        assertEq(token.totalSupply(), SUPPLY * 10);
    }

    function test_startSplit_canStartRightAfterPreviousTookEffect() public {
        _startSplit(2);
        vm.roll(block.number + PAUSE_BLOCKS);
        _startSplit(2); // the first split is settled implicitly
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.totalSupply(), SUPPLY * 4);
        assertEq(token.splitEpoch(), 2);
    }

    function test_startSplit_revertsForNonGovernor() public {
        bytes32 role = token.GOVERNOR_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        token.startSplit(2);
    }

    function test_startSplit_revertsOnInvalidFactor() public {
        vm.startPrank(governor);
        vm.expectRevert(abi.encodeWithSelector(IAIToken.InvalidSplitFactor.selector, 1));
        token.startSplit(1);
        vm.expectRevert(abi.encodeWithSelector(IAIToken.InvalidSplitFactor.selector, 1001));
        token.startSplit(1001);
        vm.stopPrank();
    }

    function test_startSplit_revertsWhilePending() public {
        _startSplit(2);
        vm.prank(governor);
        vm.expectRevert(IAIToken.SplitAlreadyPending.selector);
        token.startSplit(2);
    }

    function test_startSplit_revertsOnOverflow() public {
        // 1e27 * 1000^13 fits in 2^224; one more split by 1000 does not.
        for (uint256 i; i < 13; ++i) {
            _startSplit(1000);
            vm.roll(block.number + PAUSE_BLOCKS);
        }
        uint256 supply = token.totalSupply();
        assertEq(supply, SUPPLY * 1e39);
        vm.prank(governor);
        vm.expectRevert(abi.encodeWithSelector(IAIToken.SplitOverflow.selector, supply, 1000));
        token.startSplit(1000);
    }

    function test_allowance_saturatesToUnlimitedWhenScaledBeyondStorage() public {
        vm.prank(governor);
        token.approve(bob, uint256(type(uint224).max) / 2 + 1);
        _startSplit(2);
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.allowance(governor, bob), type(uint256).max);
    }

    function test_approve_duringPauseIsScaledLater() public {
        _startSplit(4);
        vm.prank(governor);
        token.approve(bob, 5);
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.allowance(governor, bob), 20);
    }

    function test_approve_afterSplitTookEffectBeforeSettlement() public {
        _startSplit(4);
        vm.roll(block.number + PAUSE_BLOCKS);
        vm.prank(governor);
        token.approve(bob, 5); // tagged with the new epoch before any transfer settles the split
        assertEq(token.allowance(governor, bob), 5);
        _fund(alice, 1);
        assertEq(token.allowance(governor, bob), 5);
        vm.prank(bob);
        token.transferFrom(governor, bob, 5);
        assertEq(token.balanceOf(bob), 5);
    }

    function testFuzz_startSplit(uint256 factor, uint256 a, uint256 b) public {
        factor = bound(factor, 2, 1000);
        a = bound(a, 0, SUPPLY / 2);
        b = bound(b, 0, SUPPLY / 2);
        _fund(alice, a);
        _fund(bob, b);
        _startSplit(factor);
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.balanceOf(alice), a * factor);
        assertEq(token.balanceOf(bob), b * factor);
        assertEq(token.totalSupply(), SUPPLY * factor);
        assertEq(token.balanceOf(alice) + token.balanceOf(bob) + token.balanceOf(governor), token.totalSupply());
    }

    function test_scaleSince_tracksSplitsSinceAnEpoch() public {
        assertEq(token.scaleSince(0), 1);
        _startSplit(2);
        // Pending: the epoch has not changed yet.
        assertEq(token.splitEpoch(), 0);
        assertEq(token.scaleSince(0), 1);
        vm.roll(block.number + PAUSE_BLOCKS);
        // Took effect but not settled: views count it already.
        assertEq(token.splitEpoch(), 1);
        assertEq(token.scaleSince(0), 2);
        assertEq(token.scaleSince(1), 1);
        _startSplit(3); // settles the first split
        vm.roll(block.number + PAUSE_BLOCKS);
        assertEq(token.splitEpoch(), 2);
        assertEq(token.scaleSince(0), 6);
        assertEq(token.scaleSince(1), 3);
        assertEq(token.scaleSince(2), 1);
    }

    function test_scaleSince_revertsForFutureEpoch() public {
        vm.expectRevert(abi.encodeWithSelector(IAIToken.UnknownSplitEpoch.selector, 1, 0));
        token.scaleSince(1);
    }
}

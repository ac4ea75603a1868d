// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AIToken} from "../../src/AIToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {IPaymentChannels} from "../../src/interfaces/IPaymentChannels.sol";
import {Voucher} from "../../src/types/Voucher.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @notice Moves tokens between a fixed set of holders and runs splits, for the supply invariants.
contract TokenHandler is CommonBase, StdCheats, StdUtils {
    AIToken public immutable token;
    address public immutable governor;
    address[] public holders;
    uint256 public splits;

    constructor(AIToken token_, address governor_, address[] memory holders_) {
        token = token_;
        governor = governor_;
        holders = holders_;
    }

    function holderCount() external view returns (uint256) {
        return holders.length;
    }

    function _holder(uint256 seed) internal view returns (address) {
        return holders[seed % holders.length];
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = _holder(fromSeed);
        if (token.transfersPaused()) return;
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.transfer(_holder(toSeed), amount);
    }

    function approveAndTransferFrom(uint256 ownerSeed, uint256 spenderSeed, uint256 allowance, uint256 amount)
        external
    {
        address owner = _holder(ownerSeed);
        address spender = _holder(spenderSeed);
        vm.prank(owner);
        token.approve(spender, allowance);
        if (token.transfersPaused()) return;
        amount = bound(amount, 0, _min(token.allowance(owner, spender), token.balanceOf(owner)));
        vm.prank(spender);
        token.transferFrom(owner, spender, amount);
    }

    function split(uint256 factor) external {
        (uint256 pending,) = token.pendingSplit();
        // Keep far from the 2^224 ceiling so the run explores transfers, not overflow reverts.
        if (pending != 0 || splits >= 6) return;
        factor = bound(factor, 2, 10);
        vm.prank(governor);
        token.startSplit(factor);
        ++splits;
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 20));
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}

/// @notice Registers, stakes, unbonds, withdraws and slashes a fixed set of operators.
contract RegistryHandler is CommonBase, StdCheats, StdUtils {
    AIToken public immutable token;
    NodeRegistry public immutable registry;
    address public immutable governor;
    address public immutable verifier;
    address[] public operators;
    uint256 public slashedTotal;

    constructor(AIToken token_, NodeRegistry registry_, address governor_, address verifier_, address[] memory ops) {
        token = token_;
        registry = registry_;
        governor = governor_;
        verifier = verifier_;
        operators = ops;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function _operator(uint256 seed) internal view returns (address) {
        return operators[seed % operators.length];
    }

    function _params(address operator) internal pure returns (INodeRegistry.NodeParams memory p) {
        p.peerId = abi.encodePacked(operator);
        p.signer = address(uint160(uint256(keccak256(abi.encode(operator)))));
        p.models = new bytes32[](1);
        p.models[0] = keccak256("m");
        p.metadataURI = "ipfs://x";
    }

    function register(uint256 seed, uint256 stake) external {
        address operator = _operator(seed);
        if (registry.isActive(operator)) return;
        uint256 minStake = registry.minStake();
        stake = bound(stake, minStake, minStake * 3);
        if (token.balanceOf(operator) < stake) return;
        vm.startPrank(operator);
        token.approve(address(registry), stake);
        registry.register(_params(operator), stake);
        vm.stopPrank();
    }

    function addStake(uint256 seed, uint256 amount) external {
        address operator = _operator(seed);
        if (registry.getNode(operator).operator == address(0)) return;
        amount = bound(amount, 1, 1e21);
        if (token.balanceOf(operator) < amount) return;
        vm.prank(operator);
        token.transferAndCall(address(registry), amount, abi.encodeCall(INodeRegistry.addStake, (0)));
    }

    function unbond(uint256 seed, uint256 amount) external {
        address operator = _operator(seed);
        INodeRegistry.Node memory node = registry.getNode(operator);
        if (!node.active || node.stake <= registry.minStake()) return;
        amount = bound(amount, 1, node.stake - registry.minStake());
        vm.prank(operator);
        registry.unbond(amount);
    }

    function deregister(uint256 seed) external {
        address operator = _operator(seed);
        if (!registry.isActive(operator)) return;
        vm.prank(operator);
        registry.deregister();
    }

    function withdraw(uint256 seed) external {
        address operator = _operator(seed);
        INodeRegistry.Node memory node = registry.getNode(operator);
        if (node.unbonding == 0 || block.timestamp < node.unbondingEnds) return;
        vm.prank(operator);
        registry.withdraw();
    }

    function slash(uint256 seed, uint256 amount) external {
        address operator = _operator(seed);
        if (registry.getNode(operator).operator == address(0)) return;
        amount = bound(amount, 0, 5e21);
        vm.prank(verifier);
        slashedTotal += registry.slash(operator, amount, address(this));
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 10 days));
    }
}

/// @notice Opens, tops up, redeems (including replays) and closes channels between a few consumers and nodes.
contract ChannelsHandler is CommonBase, StdCheats, StdUtils {
    AIToken public immutable token;
    PaymentChannels public immutable channels;
    address[] public nodes;
    address[] public consumers;
    uint256[] internal _consumerKeys;
    uint256[] public channelIds;

    /// @notice What each channel paid out, summed from the handler's view of each redeem.
    mapping(uint256 channelId => uint256) public paidOut;
    /// @notice Replays of an already redeemed voucher that went through (must stay 0).
    uint256 public replaysPaid;
    uint256 public totalPaid;

    mapping(uint256 channelId => uint256) internal _lastCumulative;
    mapping(uint256 channelId => bytes) internal _lastSignature;

    constructor(AIToken token_, PaymentChannels channels_, address[] memory nodes_, uint256[] memory consumerKeys) {
        token = token_;
        channels = channels_;
        nodes = nodes_;
        _consumerKeys = consumerKeys;
        for (uint256 i; i < consumerKeys.length; ++i) {
            consumers.push(vm.addr(consumerKeys[i]));
        }
    }

    function channelCount() external view returns (uint256) {
        return channelIds.length;
    }

    function open(uint256 consumerSeed, uint256 nodeSeed, uint256 amount, bool viaTransferAndCall) external {
        uint256 index = consumerSeed % consumers.length;
        address consumer = consumers[index];
        address node = nodes[nodeSeed % nodes.length];
        amount = bound(amount, 1, 1e21);
        if (token.balanceOf(consumer) < amount) return;
        vm.startPrank(consumer);
        if (viaTransferAndCall) {
            token.transferAndCall(address(channels), amount, abi.encodeCall(channels.open, (node, 0)));
            channelIds.push(channels.nextChannelId() - 1);
        } else {
            token.approve(address(channels), amount);
            channelIds.push(channels.open(node, amount));
        }
        vm.stopPrank();
    }

    function topUp(uint256 channelSeed, uint256 amount) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.status != IPaymentChannels.Status.Open) return;
        amount = bound(amount, 1, 1e20);
        if (token.balanceOf(channel.consumer) < amount) return;
        vm.startPrank(channel.consumer);
        token.approve(address(channels), amount);
        channels.topUp(id, amount);
        vm.stopPrank();
    }

    function redeem(uint256 channelSeed, uint256 cumulative) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.status == IPaymentChannels.Status.Closed) return;
        if (channel.status == IPaymentChannels.Status.Closing && block.timestamp >= channel.closesAt) return;
        if (channel.redeemed >= channel.deposit) return;
        cumulative = bound(cumulative, uint256(channel.redeemed) + 1, channel.deposit);
        bytes memory signature = _sign(channel.consumer, id, cumulative);
        uint256 before = token.balanceOf(channel.node);
        uint256 paid = channels.redeem(Voucher(id, cumulative), signature);
        require(token.balanceOf(channel.node) - before == paid, "payout mismatch");
        paidOut[id] += paid;
        totalPaid += paid;
        _lastCumulative[id] = cumulative;
        _lastSignature[id] = signature;
    }

    /// @dev Tries to redeem the last voucher of a channel again; counts it if it pays.
    function replay(uint256 channelSeed) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        if (_lastCumulative[id] == 0) return;
        try channels.redeem(Voucher(id, _lastCumulative[id]), _lastSignature[id]) returns (uint256) {
            ++replaysPaid;
        } catch {}
    }

    function startClose(uint256 channelSeed) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.status != IPaymentChannels.Status.Open) return;
        vm.prank(channel.consumer);
        channels.startClose(id);
    }

    function finishClose(uint256 channelSeed) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.status != IPaymentChannels.Status.Closing || block.timestamp < channel.closesAt) return;
        channels.finishClose(id);
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    function _sign(address consumer, uint256 id, uint256 cumulative) internal view returns (bytes memory) {
        uint256 key;
        for (uint256 i; i < consumers.length; ++i) {
            if (consumers[i] == consumer) key = _consumerKeys[i];
        }
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, channels.voucherDigest(Voucher(id, cumulative)));
        return abi.encodePacked(r, s, v);
    }
}

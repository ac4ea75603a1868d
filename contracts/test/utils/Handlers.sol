// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AIToken} from "../../src/AIToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
import {IOracleRouter} from "../../src/interfaces/IOracleRouter.sol";
import {IPaymentChannels} from "../../src/interfaces/IPaymentChannels.sol";
import {Median} from "../../src/libraries/Median.sol";
import {Voucher} from "../../src/types/Voucher.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @notice Token splits for every handler: the governor starts splits (at most `MAX_SPLITS`, factors 2 to 10, far
/// from the 2^224 ceiling) and blocks roll so pauses end, interleaved with whatever else the handler does.
abstract contract SplitActions is CommonBase, StdCheats, StdUtils {
    uint256 public constant MAX_SPLITS = 4;

    AIToken public immutable token;
    address public immutable governor;
    uint256 public splits;

    constructor(AIToken token_, address governor_) {
        token = token_;
        governor = governor_;
    }

    function split(uint256 factor) external {
        (uint256 pending,) = token.pendingSplit();
        if (pending != 0 || splits >= MAX_SPLITS) return;
        factor = bound(factor, 2, 10);
        vm.prank(governor);
        token.startSplit(factor);
        ++splits;
    }

    function roll(uint256 blocks) external {
        vm.roll(block.number + bound(blocks, 1, 20));
    }
}

/// @notice Moves tokens between a fixed set of holders and runs splits, for the supply invariants.
contract TokenHandler is SplitActions {
    address[] public holders;

    constructor(AIToken token_, address governor_, address[] memory holders_) SplitActions(token_, governor_) {
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

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}

/// @notice Registers, stakes, unbonds, withdraws and slashes a fixed set of operators, across splits, and rotates
/// their signers among a shared pool of keys (so operators keep trying to bind each other's current and retired
/// signers).
contract RegistryHandler is SplitActions {
    /// @notice How many signer keys the operators share.
    uint256 public constant SIGNER_POOL = 8;

    NodeRegistry public immutable registry;
    address public immutable verifier;
    address[] public operators;
    /// @notice Withdrawals that paid something other than the unbonding stake the registry reported (must stay 0).
    uint256 public payoutMismatches;
    /// @dev What was slashed so far, in AI of split epoch `_slashedEpoch`.
    uint256 internal _slashed;
    uint256 internal _slashedEpoch;
    /// @notice The first operator each pool signer was bound to (ghost): it must stay its only operator.
    mapping(address signer => address operator) public firstOperatorOf;
    /// @notice Bindings that succeeded for a signer some other operator had already bound (must stay 0).
    uint256 public rebindings;
    /// @notice Bindings with a valid proof that failed for another reason than `SignerTaken` (must stay 0).
    uint256 public unexpectedBindingFailures;

    constructor(AIToken token_, NodeRegistry registry_, address governor_, address verifier_, address[] memory ops)
        SplitActions(token_, governor_)
    {
        registry = registry_;
        verifier = verifier_;
        operators = ops;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function _operator(uint256 seed) internal view returns (address) {
        return operators[seed % operators.length];
    }

    /// @notice Signer key `i` of the pool.
    function signerKey(uint256 i) public pure returns (uint256) {
        return uint256(keccak256(abi.encode("signer", i % SIGNER_POOL)));
    }

    function signerAt(uint256 i) external pure returns (address) {
        return vm.addr(signerKey(i));
    }

    /// @dev What `operator` declares with pool signer `signerSeed`, and that signer's proof of possession.
    function _params(address operator, uint256 signerSeed)
        internal
        view
        returns (INodeRegistry.NodeParams memory p, bytes memory proof)
    {
        uint256 key = signerKey(signerSeed);
        p.peerId = abi.encodePacked(operator);
        p.signer = vm.addr(key);
        p.models = new bytes32[](1);
        p.models[0] = keccak256("m");
        p.metadataURI = "ipfs://x";
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, registry.signerBindingDigest(operator, p.signer, p.peerId));
        proof = abi.encodePacked(r, s, v);
    }

    /// @dev Records a binding that went through: the signer's first operator, or a rebinding to another one.
    function _bound(address operator, address signer) internal {
        address first = firstOperatorOf[signer];
        if (first == address(0)) firstOperatorOf[signer] = operator;
        else if (first != operator) ++rebindings;
    }

    function register(uint256 seed, uint256 signerSeed, uint256 stake) external {
        address operator = _operator(seed);
        if (registry.isActive(operator) || token.transfersPaused()) return;
        uint256 minStake = registry.minStake();
        stake = bound(stake, minStake, minStake * 3);
        if (token.balanceOf(operator) < stake) return;
        (INodeRegistry.NodeParams memory params, bytes memory proof) = _params(operator, signerSeed);
        vm.startPrank(operator);
        token.approve(address(registry), stake);
        try registry.register(params, proof, stake) {
            _bound(operator, params.signer);
        } catch (bytes memory reason) {
            _expectSignerTaken(reason);
        }
        vm.stopPrank();
    }

    function update(uint256 seed, uint256 signerSeed) external {
        address operator = _operator(seed);
        if (!registry.isActive(operator)) return;
        (INodeRegistry.NodeParams memory params, bytes memory proof) = _params(operator, signerSeed);
        vm.prank(operator);
        try registry.update(params, proof) {
            _bound(operator, params.signer);
        } catch (bytes memory reason) {
            _expectSignerTaken(reason);
        }
    }

    /// @dev The only expected failure of a binding with a valid proof: the signer is another operator's.
    function _expectSignerTaken(bytes memory reason) internal {
        if (bytes4(reason) != INodeRegistry.SignerTaken.selector) ++unexpectedBindingFailures;
    }

    function addStake(uint256 seed, uint256 amount) external {
        address operator = _operator(seed);
        if (registry.getNode(operator).operator == address(0) || token.transfersPaused()) return;
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
        if (node.unbonding == 0 || block.timestamp < node.unbondingEnds || token.transfersPaused()) return;
        uint256 before = token.balanceOf(operator);
        vm.prank(operator);
        registry.withdraw();
        if (token.balanceOf(operator) - before != node.unbonding) ++payoutMismatches;
    }

    function slash(uint256 seed, uint256 amount) external {
        address operator = _operator(seed);
        if (registry.getNode(operator).operator == address(0) || token.transfersPaused()) return;
        amount = bound(amount, 0, 5e21);
        vm.prank(verifier);
        uint256 slashed = registry.slash(operator, amount, address(this));
        _slashed = slashedTotal() + slashed;
        _slashedEpoch = token.splitEpoch();
    }

    /// @notice What was slashed so far, in current AI (like the rewards the handler holds).
    function slashedTotal() public view returns (uint256) {
        return _slashed * token.scaleSince(_slashedEpoch);
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 10 days));
    }
}

/// @notice Opens, tops up, redeems (including replays) and closes channels between a few consumers and nodes, across
/// splits: vouchers are signed in channel units, some before a split and redeemed after it.
contract ChannelsHandler is SplitActions {
    PaymentChannels public immutable channels;
    address[] public nodes;
    address[] public consumers;
    uint256[] internal _consumerKeys;
    uint256[] public channelIds;

    /// @notice What each channel paid out, in channel units, summed from the handler's view of each redeem.
    mapping(uint256 channelId => uint256) public paidOut;
    /// @notice Replays of an already redeemed voucher that went through (must stay 0).
    uint256 public replaysPaid;
    /// @notice Redeems and closes whose AI moved differently from what the channel booked (must stay 0).
    uint256 public payoutMismatches;
    /// @notice Vouchers signed before a split and redeemed after it (to see that runs cover the case).
    uint256 public redeemedAcrossSplit;

    mapping(uint256 channelId => uint256) internal _lastCumulative;
    mapping(uint256 channelId => bytes) internal _lastSignature;
    /// @dev A voucher signed and held back, with the split epoch it was signed in.
    mapping(uint256 channelId => uint256) internal _heldCumulative;
    mapping(uint256 channelId => uint256) internal _heldEpoch;
    mapping(uint256 channelId => bytes) internal _heldSignature;

    constructor(
        AIToken token_,
        address governor_,
        PaymentChannels channels_,
        address[] memory nodes_,
        uint256[] memory consumerKeys
    ) SplitActions(token_, governor_) {
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
        if (token.balanceOf(consumer) < amount || token.transfersPaused()) return;
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
        if (channel.status != IPaymentChannels.Status.Open || token.transfersPaused()) return;
        // After a split, top-ups come in whole channel units.
        uint256 unit = channels.unitScale(id);
        amount = bound(amount, 1, 1e20) * unit;
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
        if (!_redeemable(channel)) return;
        cumulative = bound(cumulative, uint256(channel.redeemed) + 1, channel.deposit);
        _redeem(id, channel, cumulative, _sign(channel.consumer, id, cumulative));
    }

    /// @dev Signs a voucher now and keeps it for `redeemHeld`, which may run after a split.
    function signAndHold(uint256 channelSeed, uint256 cumulative) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.redeemed >= channel.deposit) return;
        cumulative = bound(cumulative, uint256(channel.redeemed) + 1, channel.deposit);
        _heldCumulative[id] = cumulative;
        _heldEpoch[id] = token.splitEpoch();
        _heldSignature[id] = _sign(channel.consumer, id, cumulative);
    }

    function redeemHeld(uint256 channelSeed) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        uint256 cumulative = _heldCumulative[id];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (cumulative <= channel.redeemed || !_redeemable(channel)) return;
        delete _heldCumulative[id];
        if (_heldEpoch[id] != token.splitEpoch()) ++redeemedAcrossSplit;
        _redeem(id, channel, cumulative, _heldSignature[id]);
    }

    function _redeemable(IPaymentChannels.Channel memory channel) internal view returns (bool) {
        if (channel.status == IPaymentChannels.Status.Closed || token.transfersPaused()) return false;
        if (channel.status == IPaymentChannels.Status.Closing && block.timestamp >= channel.closesAt) return false;
        return channel.redeemed < channel.deposit;
    }

    function _redeem(uint256 id, IPaymentChannels.Channel memory channel, uint256 cumulative, bytes memory signature)
        internal
    {
        uint256 unit = channels.unitScale(id);
        uint256 before = token.balanceOf(channel.node);
        uint256 paid = channels.redeem(Voucher(id, cumulative), signature);
        uint256 units = cumulative - channel.redeemed;
        if (paid != units * unit || token.balanceOf(channel.node) - before != paid) ++payoutMismatches;
        paidOut[id] += units;
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
        if (channel.status != IPaymentChannels.Status.Open || token.transfersPaused()) return;
        vm.prank(channel.consumer);
        channels.startClose(id);
    }

    function finishClose(uint256 channelSeed) external {
        if (channelIds.length == 0) return;
        uint256 id = channelIds[channelSeed % channelIds.length];
        IPaymentChannels.Channel memory channel = channels.getChannel(id);
        if (channel.status != IPaymentChannels.Status.Closing || block.timestamp < channel.closesAt) return;
        if (token.transfersPaused()) return;
        uint256 refund = (channel.deposit - channel.redeemed) * channels.unitScale(id);
        uint256 before = token.balanceOf(channel.consumer);
        channels.finishClose(id);
        // A split that paused the challenge period restarts it instead of closing (and refunds nothing yet).
        if (channels.getChannel(id).status != IPaymentChannels.Status.Closed) refund = 0;
        if (token.balanceOf(channel.consumer) - before != refund) ++payoutMismatches;
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

/// @notice Requests, commits, reveals, finalizes and refunds oracle requests between a few requesters and registered
/// nodes, runs subscriptions (create, open rounds, cancel), across splits; and keeps trying the attacks (a second
/// commit, a reveal that does not match, a copied commitment, an early or repeated round), counting any that succeed.
contract OracleHandler is SplitActions {
    OracleRouter public immutable router;
    bytes32 public immutable templateHash;
    address[] public nodes;
    address[] public requesters;
    uint256[] public requestIds;
    uint256[] public subscriptionIds;
    /// @notice Settlements, refunds and withdrawals whose AI moved differently from what the router reported, and
    /// fulfilments whose result is not the median of the revealed answers (must stay 0).
    uint256 public payoutMismatches;
    /// @notice Requests whose revealers were paid more than the fee (must stay 0).
    uint256 public overpaid;
    /// @notice Attacks that went through: a second commit or reveal by a node, a reveal not matching its commitment,
    /// another node revealing a copied commitment, a round opened early or twice (must stay 0).
    uint256 public attacksSucceeded;
    /// @notice Requests settled in a later split epoch than they were made in (coverage).
    uint256 public settledAcrossSplit;
    uint256 public fulfilled;
    uint256 public expired;
    uint256 public roundsOpened;

    struct Sealed {
        int256 value;
        bytes32 salt;
    }

    mapping(uint256 requestId => mapping(address node => Sealed)) internal _sealed;
    /// @dev Revealer pay per request, in the request's split-epoch units.
    mapping(uint256 requestId => uint256) public paidUnits;
    mapping(uint256 requestId => uint256) internal _epochOf;

    constructor(
        AIToken token_,
        address governor_,
        OracleRouter router_,
        bytes32 templateHash_,
        address[] memory nodes_,
        address[] memory requesters_
    ) SplitActions(token_, governor_) {
        router = router_;
        templateHash = templateHash_;
        nodes = nodes_;
        requesters = requesters_;
    }

    function requestCount() external view returns (uint256) {
        return requestIds.length;
    }

    function subscriptionCount() external view returns (uint256) {
        return subscriptionIds.length;
    }

    function request(uint256 requesterSeed, uint256 fee, uint8 k, uint256 commitIn, uint256 revealIn) external {
        address requester = requesters[requesterSeed % requesters.length];
        fee = bound(fee, 1, 1e21);
        if (token.balanceOf(requester) < fee || token.transfersPaused()) return;
        k = uint8(bound(k, router.minAnswers(), nodes.length));
        uint64 commitDeadline = uint64(block.timestamp + bound(commitIn, 1, 6 hours));
        uint64 revealDeadline = uint64(commitDeadline + bound(revealIn, 1, 6 hours));
        vm.startPrank(requester);
        token.approve(address(router), fee);
        uint256 id = router.request(templateHash, "input", fee, k, commitDeadline, revealDeadline, 0);
        vm.stopPrank();
        _track(id);
    }

    /// @dev Commits for one to all nodes (fresh ones unless `again`: then the second commit must fail).
    function commit(uint256 requestSeed, uint256 nodeSeed, int256 value, bytes32 salt, bool again) external {
        if (requestIds.length == 0) return;
        uint256 id = _recent(requestSeed);
        uint256 times = 1 + (nodeSeed >> 128) % nodes.length;
        for (uint256 t; t < times; ++t) {
            address node = _node(id, nodeSeed % nodes.length + t, !again, false);
            (bytes32 existing, bool revealed) = router.commitmentOf(id, node);
            bytes32 commitment = keccak256(abi.encode(id, node, value, salt));
            if (existing != bytes32(0) || revealed) {
                // A node never answers twice.
                vm.prank(node);
                try router.commit(id, commitment) {
                    ++attacksSucceeded;
                } catch {}
                continue;
            }
            if (router.phaseOf(id) != IOracleRouter.Phase.Commit) return;
            vm.prank(node);
            router.commit(id, commitment);
            _sealed[id][node] = Sealed(value, salt);
            value = int256(uint256(keccak256(abi.encode(value))) >> 200);
        }
    }

    /// @dev Reveals for one to all committed nodes (with `tamper`, one reveal of another value, which must fail).
    function reveal(uint256 requestSeed, uint256 nodeSeed, bool tamper) external {
        if (requestIds.length == 0) return;
        uint256 id = _recent(requestSeed);
        uint256 times = tamper ? 1 : 1 + (nodeSeed >> 128) % nodes.length;
        for (uint256 t; t < times; ++t) {
            if (!_revealOne(id, _node(id, nodeSeed % nodes.length + t, false, true), tamper)) return;
        }
    }

    function _revealOne(uint256 id, address node, bool tamper) internal returns (bool) {
        (bytes32 commitment, bool revealed) = router.commitmentOf(id, node);
        if (router.phaseOf(id) != IOracleRouter.Phase.Reveal || token.transfersPaused()) return false;
        Sealed memory s = _sealed[id][node];
        if (revealed || commitment == bytes32(0) || tamper) {
            // Twice, without a commitment, or with another value: refused.
            vm.prank(node);
            try router.reveal(id, s.value ^ (tamper ? int256(1) : int256(0)), s.salt) {
                ++attacksSucceeded;
            } catch {}
            return true;
        }
        IOracleRouter.Request memory before = router.getRequest(id);
        uint256 balance = token.balanceOf(node);
        vm.prank(node);
        router.reveal(id, s.value, s.salt);
        uint256 paid = token.balanceOf(node) - balance;
        paidUnits[id] += paid / token.scaleSince(_epochOf[id]);
        if (paidUnits[id] > before.fee / token.scaleSince(_epochOf[id])) ++overpaid;
        if (router.getRequest(id).status != IOracleRouter.Status.Open) _settled(id);
        return true;
    }

    /// @dev Another node reveals a committed node's (value, salt): the commitment binds its operator.
    function revealCopied(uint256 requestSeed, uint256 victimSeed, uint256 copierSeed) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[requestSeed % requestIds.length];
        address victim = nodes[victimSeed % nodes.length];
        address copier = nodes[copierSeed % nodes.length];
        if (victim == copier) return;
        (bytes32 commitment,) = router.commitmentOf(id, victim);
        if (commitment == bytes32(0)) return;
        Sealed memory s = _sealed[id][victim];
        vm.prank(copier);
        try router.commit(id, commitment) {
            // Copying the commitment itself may go through while commits are open, but can never be revealed.
            uint64 commitDeadline = router.getRequest(id).commitDeadline;
            if (block.timestamp <= commitDeadline) vm.warp(commitDeadline + 1);
            vm.prank(copier);
            try router.reveal(id, s.value, s.salt) {
                ++attacksSucceeded;
            } catch {}
        } catch {}
    }

    function finalize(uint256 requestSeed) external {
        if (requestIds.length == 0) return;
        uint256 id = _recent(requestSeed);
        if (router.phaseOf(id) != IOracleRouter.Phase.Finalizable) return;
        router.finalize(id);
        _settled(id);
    }

    function claimRefund(uint256 requestSeed) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[requestSeed % requestIds.length];
        IOracleRouter.Request memory req = router.getRequest(id);
        if (req.refund == 0 || token.transfersPaused()) return;
        uint256 before = token.balanceOf(req.requester);
        vm.prank(req.requester);
        uint256 amount = router.claimRefund(id);
        if (amount != req.refund || token.balanceOf(req.requester) - before != amount) ++payoutMismatches;
    }

    function createSubscription(uint256 requesterSeed, uint256 fee, uint8 k, uint32 rounds, uint32 period) external {
        address owner = requesters[requesterSeed % requesters.length];
        fee = bound(fee, 1, 1e20);
        rounds = uint32(bound(rounds, 1, 5));
        if (token.balanceOf(owner) < fee * rounds || token.transfersPaused()) return;
        IOracleRouter.SubscriptionParams memory p = IOracleRouter.SubscriptionParams({
            templateHash: templateHash,
            datasetHash: keccak256("dataset"),
            windowSeconds: 90 days,
            start: uint64(block.timestamp),
            period: uint32(bound(period, 1 hours, 1 days)),
            rounds: rounds,
            k: uint8(bound(k, router.minAnswers(), nodes.length)),
            commitWindow: 30 minutes,
            revealWindow: 30 minutes,
            callbackGasLimit: 0,
            feePerRound: fee,
            params: "ETH"
        });
        vm.startPrank(owner);
        token.approve(address(router), fee * rounds);
        subscriptionIds.push(router.createSubscription(p));
        vm.stopPrank();
    }

    function openRound(uint256 subscriptionSeed, uint32 round) external {
        if (subscriptionIds.length == 0) return;
        uint256 sid = subscriptionIds[subscriptionSeed % subscriptionIds.length];
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        round = uint32(bound(round, 0, sub.rounds - 1));
        IOracleRouter.Round memory r = router.getRound(sid, round);
        if (r.status != IOracleRouter.RoundStatus.Openable || sub.balance < sub.feePerRound) {
            // Early, twice, after its slot or after a cancel: refused.
            try router.openRound(sid, round) {
                ++attacksSucceeded;
            } catch {}
            return;
        }
        uint256 id = router.openRound(sid, round);
        ++roundsOpened;
        _track(id);
    }

    function cancelSubscription(uint256 subscriptionSeed) external {
        if (subscriptionIds.length == 0 || token.transfersPaused()) return;
        uint256 sid = subscriptionIds[subscriptionSeed % subscriptionIds.length];
        IOracleRouter.Subscription memory sub = router.getSubscription(sid);
        uint256 before = token.balanceOf(sub.owner);
        vm.prank(sub.owner);
        uint256 amount = router.cancelSubscription(sid);
        if (amount != sub.balance || token.balanceOf(sub.owner) - before != amount) ++payoutMismatches;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 6 hours));
    }

    /// @dev Mostly one of the two newest requests, so requests gather enough commits and reveals to settle.
    function _recent(uint256 seed) internal view returns (uint256) {
        uint256 n = requestIds.length;
        if (seed % 4 == 0) return requestIds[(seed >> 2) % n];
        return requestIds[n - 1 - ((seed >> 2) % (n < 2 ? 1 : 2))];
    }

    /// @dev The node at `seed`, or the next one that has not committed (`fresh`) or has an unrevealed commitment
    /// (`pending`), when there is one.
    function _node(uint256 id, uint256 seed, bool fresh, bool pending) internal view returns (address) {
        for (uint256 i; i < nodes.length; ++i) {
            address node = nodes[(seed + i) % nodes.length];
            (bytes32 commitment, bool revealed) = router.commitmentOf(id, node);
            if (fresh && commitment == bytes32(0) && !revealed) return node;
            if (pending && commitment != bytes32(0)) return node;
        }
        return nodes[seed % nodes.length];
    }

    function _track(uint256 id) internal {
        requestIds.push(id);
        _epochOf[id] = token.splitEpoch();
    }

    function _settled(uint256 id) internal {
        IOracleRouter.Request memory req = router.getRequest(id);
        (, int256[] memory values) = router.getAnswers(id);
        if (req.status == IOracleRouter.Status.Fulfilled) {
            ++fulfilled;
            if (values.length < req.quorum || req.result != Median.compute(values)) ++payoutMismatches;
        } else {
            ++expired;
            if (values.length >= req.quorum) ++payoutMismatches;
        }
        if (_epochOf[id] != token.splitEpoch()) ++settledAcrossSplit;
    }
}

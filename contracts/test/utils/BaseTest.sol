// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AIToken} from "../../src/AIToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {ReceiptAnchor} from "../../src/ReceiptAnchor.sol";
import {SentimentConsumer} from "../../src/SentimentConsumer.sol";
import {INodeRegistry} from "../../src/interfaces/INodeRegistry.sol";
// forge-std declares its own `Receipt`, so ours is aliased in tests.
import {Receipt as ReceiptData} from "../../src/types/Receipt.sol";
import {Voucher} from "../../src/types/Voucher.sol";
import {Deployer} from "./Deployer.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The deployed system plus helpers every suite uses: funding, registering nodes, signing typed data.
abstract contract BaseTest is Test {
    uint256 internal constant MIN_STAKE = 1000e18;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint64 internal constant CHALLENGE_PERIOD = 1 days;
    uint256 internal constant PAUSE_BLOCKS = 10;
    bytes32 internal constant MODEL = keccak256("modelex:test-model");
    bytes32 internal constant SENTIMENT_MODEL = keccak256("modelex:sentiment-model");
    string internal constant SENTIMENT_TEMPLATE = "Rate the market sentiment of {asset} from -1 to 1.";

    address internal governor = makeAddr("governor");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    AIToken internal token;
    NodeRegistry internal registry;
    PaymentChannels internal channels;
    ReceiptAnchor internal anchor;
    OracleRouter internal router;
    SentimentConsumer internal sentiment;

    /// @dev Private keys of the addresses tests use as node signers, to sign their `SignerBinding`s.
    mapping(address signer => uint256 key) internal _signerKeys;

    function setUp() public virtual {
        _rememberKey("alice");
        _rememberKey("bob");
        vm.startPrank(governor);
        Deployer.Contracts memory c = Deployer.deploy(
            Deployer.Config({
                governor: governor,
                splitPauseBlocks: PAUSE_BLOCKS,
                minStake: MIN_STAKE,
                unbondingDelay: UNBONDING_DELAY,
                challengePeriod: CHALLENGE_PERIOD,
                sentimentTemplate: SENTIMENT_TEMPLATE,
                sentimentModel: SENTIMENT_MODEL
            })
        );
        token = c.token;
        registry = c.registry;
        channels = c.channels;
        anchor = c.anchor;
        router = c.router;
        sentiment = c.sentiment;
        registry.grantRole(registry.VERIFIER_ROLE(), address(anchor));
        vm.stopPrank();
        vm.label(address(token), "AIToken");
        vm.label(address(registry), "NodeRegistry");
        vm.label(address(channels), "PaymentChannels");
        vm.label(address(anchor), "ReceiptAnchor");
        vm.label(address(router), "OracleRouter");
        vm.label(address(sentiment), "SentimentConsumer");
    }

    function _fund(address to, uint256 amount) internal {
        vm.prank(governor);
        token.transfer(to, amount);
    }

    /// @dev Starts a split by `factor` and rolls past its pause, so it has taken effect (not yet settled).
    function _splitNow(uint256 factor) internal {
        vm.prank(governor);
        token.startSplit(factor);
        vm.roll(block.number + PAUSE_BLOCKS);
    }

    function _models(bytes32 model) internal pure returns (bytes32[] memory models) {
        models = new bytes32[](1);
        models[0] = model;
    }

    function _params(address signer, string memory peerId) internal pure returns (INodeRegistry.NodeParams memory) {
        bytes32[] memory models = new bytes32[](2);
        models[0] = MODEL;
        models[1] = SENTIMENT_MODEL;
        return INodeRegistry.NodeParams({
            peerId: bytes(peerId),
            signer: signer,
            models: models,
            pricePerMillionInput: 1e18,
            pricePerMillionOutput: 2e18,
            metadataURI: "ipfs://node"
        });
    }

    /// @dev `makeAddr(name)`, remembering its key for `_proof`.
    function _rememberKey(string memory name) internal returns (address account) {
        uint256 key;
        (account, key) = makeAddrAndKey(name);
        _signerKeys[account] = key;
    }

    /// @dev The EIP-712 digest of a `SignerBinding`, computed here rather than read from the registry (so tests also
    /// check the registry's encoding, and computing it consumes no `vm.prank` or `vm.expectRevert`).
    function _bindingDigest(address operator, bytes memory peerId, uint256 nonce) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Modelex NodeRegistry"),
                keccak256("1"),
                block.chainid,
                address(registry)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("SignerBinding(address operator,bytes peerId,uint256 nonce)"),
                operator,
                keccak256(peerId),
                nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @dev The signer's proof of possession for binding `params.signer` to `operator` at `nonce` (empty for an
    /// address whose key the test does not know).
    function _proof(address operator, INodeRegistry.NodeParams memory params, uint256 nonce)
        internal
        view
        returns (bytes memory)
    {
        uint256 key = _signerKeys[params.signer];
        if (key == 0) return "";
        return _sign(key, _bindingDigest(operator, params.peerId, nonce));
    }

    /// @dev `_proof` at nonce 0: the signer's first binding.
    function _proof(address operator, INodeRegistry.NodeParams memory params) internal view returns (bytes memory) {
        return _proof(operator, params, 0);
    }

    /// @dev Registers a node for operator `name` with the minimum stake; returns its operator and signer key.
    function _registerNode(string memory name) internal returns (address operator, address signer, uint256 signerKey) {
        operator = makeAddr(name);
        signer = _rememberKey(string.concat(name, "-signer"));
        signerKey = _signerKeys[signer];
        _fund(operator, MIN_STAKE);
        INodeRegistry.NodeParams memory params = _params(signer, string.concat("peer-", name));
        vm.startPrank(operator);
        token.approve(address(registry), MIN_STAKE);
        registry.register(params, _proof(operator, params), MIN_STAKE);
        vm.stopPrank();
    }

    function _openChannel(address consumer, address node, uint256 amount) internal returns (uint256 channelId) {
        _fund(consumer, amount);
        vm.startPrank(consumer);
        token.approve(address(channels), amount);
        channelId = channels.open(node, amount);
        vm.stopPrank();
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signVoucher(uint256 key, uint256 channelId, uint256 cumulative) internal view returns (bytes memory) {
        return _sign(key, channels.voucherDigest(Voucher(channelId, cumulative)));
    }

    function _receipt(address signer, bytes32 requestHash, bytes32 outputHash)
        internal
        view
        returns (ReceiptData memory)
    {
        return ReceiptData({
            requestHash: requestHash,
            outputHash: outputHash,
            modelHash: MODEL,
            nodeSigner: signer,
            consumer: alice,
            promptTokens: 100,
            completionTokens: 50,
            cost: 1e15,
            channelId: 1,
            cumulativePaid: 1e15,
            timestamp: uint64(block.timestamp),
            deterministic: true
        });
    }

    function _signReceipt(uint256 key, ReceiptData memory receipt) internal view returns (bytes memory) {
        return _sign(key, anchor.hashReceipt(receipt));
    }
}

// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Deployer} from "../test/utils/Deployer.sol";
import {Script, console} from "forge-std/Script.sol";

/// @notice Deploys and wires the Modelex contracts with forge (the local stack uses `src/server/lib/contracts.ts`).
/// @dev `forge script script/Deploy.s.sol --rpc-url $RPC --private-key $KEY --broadcast`; parameters from the
/// environment, devnet defaults otherwise.
contract Deploy is Script {
    function run() external returns (Deployer.Contracts memory c) {
        vm.startBroadcast();
        (, address governor,) = vm.readCallers();
        c = Deployer.deploy(
            Deployer.Config({
                governor: governor,
                splitPauseBlocks: vm.envOr("SPLIT_PAUSE_BLOCKS", uint256(10)),
                minStake: vm.envOr("MIN_STAKE", uint256(1000e18)),
                unbondingDelay: uint64(vm.envOr("UNBONDING_DELAY", uint256(1 hours))),
                challengePeriod: uint64(vm.envOr("CHALLENGE_PERIOD", uint256(10 minutes))),
                sentimentTemplate: vm.envOr(
                    "SENTIMENT_TEMPLATE",
                    string("Rate the market sentiment of {asset} from -1 to 1. Answer with one number.")
                ),
                sentimentModel: vm.envOr("SENTIMENT_MODEL", keccak256("modelex:sentiment-model"))
            })
        );
        c.registry.grantRole(c.registry.VERIFIER_ROLE(), address(c.anchor));
        vm.stopBroadcast();
        console.log("AIToken", address(c.token));
        console.log("NodeRegistry", address(c.registry));
        console.log("PaymentChannels", address(c.channels));
        console.log("ReceiptAnchor", address(c.anchor));
        console.log("OracleRouter", address(c.router));
        console.log("SentimentConsumer", address(c.sentiment));
    }
}

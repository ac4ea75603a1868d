// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AIToken} from "../../src/AIToken.sol";
import {NodeRegistry} from "../../src/NodeRegistry.sol";
import {OracleRouter} from "../../src/OracleRouter.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {ReceiptAnchor} from "../../src/ReceiptAnchor.sol";
import {SentimentConsumer} from "../../src/SentimentConsumer.sol";

/// @notice Deploys and wires the Modelex contracts the way `src/server/lib/contracts.ts` does, for tests and the
/// forge script.
library Deployer {
    struct Config {
        address governor;
        uint256 splitPauseBlocks;
        uint256 minStake;
        uint64 unbondingDelay;
        uint64 challengePeriod;
        string sentimentTemplate;
        bytes32 sentimentModel;
    }

    struct Contracts {
        AIToken token;
        NodeRegistry registry;
        PaymentChannels channels;
        ReceiptAnchor anchor;
        OracleRouter router;
        SentimentConsumer sentiment;
    }

    /// @dev The caller must be `config.governor` (a prank or broadcast) so the role grant goes through.
    function deploy(Config memory config) internal returns (Contracts memory c) {
        c.token = new AIToken(config.governor, config.governor, config.splitPauseBlocks);
        c.registry = new NodeRegistry(c.token, config.governor, config.minStake, config.unbondingDelay);
        c.channels = new PaymentChannels(c.token, c.registry, config.challengePeriod);
        c.anchor = new ReceiptAnchor(c.registry);
        c.router = new OracleRouter(c.token, c.registry, config.governor);
        bytes32 templateHash = c.router.registerTemplate(config.sentimentTemplate, config.sentimentModel);
        c.sentiment = new SentimentConsumer(c.router, c.token, templateHash);
    }
}

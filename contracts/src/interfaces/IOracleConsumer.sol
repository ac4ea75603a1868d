// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Oracle consumer
/// @notice Implemented by contracts that request answers from the OracleRouter.
interface IOracleConsumer {
    /// @notice Receives the median of the answers to `requestId`. Called by the router with the gas the request
    /// asked for; a revert here does not undo the fulfilment.
    function onOracleResult(uint256 requestId, int256 value) external;
}

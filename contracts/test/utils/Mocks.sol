// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC677Receiver} from "../../src/interfaces/IERC677Receiver.sol";
import {IOracleConsumer} from "../../src/interfaces/IOracleConsumer.sol";
import {IOracleRouter} from "../../src/interfaces/IOracleRouter.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Records the last `onTokenTransfer` it got.
contract MockReceiver is IERC677Receiver {
    address public lastFrom;
    uint256 public lastValue;
    bytes public lastData;
    uint256 public calls;

    function onTokenTransfer(address from, uint256 value, bytes calldata data) external {
        lastFrom = from;
        lastValue = value;
        lastData = data;
        ++calls;
    }
}

/// @notice Rejects every `onTokenTransfer`.
contract RejectingReceiver is IERC677Receiver {
    error Rejected();

    function onTokenTransfer(address, uint256, bytes calldata) external pure {
        revert Rejected();
    }
}

/// @notice An oracle requester whose callback can record, revert or burn all its gas.
contract MockOracleConsumer is IOracleConsumer {
    enum Mode {
        Record,
        Revert,
        Burn
    }

    error CallbackFailed();

    Mode public mode;
    uint256 public lastRequestId;
    int256 public lastValue;
    uint256 public calls;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function ask(
        IOracleRouter router,
        IERC20 token,
        bytes32 templateHash,
        uint256 fee,
        uint8 k,
        uint64 commitDeadline,
        uint64 revealDeadline,
        uint32 gas
    ) external returns (uint256) {
        token.approve(address(router), fee);
        return router.request(templateHash, "input", fee, k, commitDeadline, revealDeadline, gas);
    }

    function claim(IOracleRouter router, uint256 requestId) external returns (uint256) {
        return router.claimRefund(requestId);
    }

    function onOracleResult(uint256 requestId, int256 value) external {
        if (mode == Mode.Revert) revert CallbackFailed();
        if (mode == Mode.Burn) {
            while (true) {}
        }
        lastRequestId = requestId;
        lastValue = value;
        ++calls;
    }
}

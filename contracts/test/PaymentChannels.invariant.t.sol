// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPaymentChannels} from "../src/interfaces/IPaymentChannels.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {ChannelsHandler} from "./utils/Handlers.sol";

contract PaymentChannelsInvariantTest is BaseTest {
    ChannelsHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory nodes = new address[](2);
        (nodes[0],,) = _registerNode("inv-node-0");
        (nodes[1],,) = _registerNode("inv-node-1");
        uint256[] memory keys = new uint256[](3);
        for (uint256 i; i < keys.length; ++i) {
            (address consumer, uint256 key) = makeAddrAndKey(string.concat("consumer", vm.toString(i)));
            keys[i] = key;
            _fund(consumer, 1e22);
        }
        handler = new ChannelsHandler(token, governor, channels, nodes, keys);
        targetContract(address(handler));
    }

    /// @dev The contract holds exactly the unredeemed deposits of channels that are not closed, converted from
    /// channel units to current AI, across any splits.
    function invariant_channelBalancesEqualTokenBalance() public view {
        uint256 sum;
        for (uint256 i; i < handler.channelCount(); ++i) {
            uint256 id = handler.channelIds(i);
            IPaymentChannels.Channel memory channel = channels.getChannel(id);
            if (channel.status != IPaymentChannels.Status.Closed) {
                sum += (channel.deposit - channel.redeemed) * channels.unitScale(id);
            }
        }
        assertEq(token.balanceOf(address(channels)), sum);
    }

    /// @dev Every redeem and close moved exactly the AI the channel booked, split or not.
    function invariant_payoutsMatchBooks() public view {
        assertEq(handler.payoutMismatches(), 0);
    }

    /// @dev The supply changes only by splits.
    function invariant_supplyChangesOnlyBySplit() public view {
        assertEq(token.totalSupply(), token.INITIAL_SUPPLY() * token.scale());
    }

    /// @dev No channel ever pays out more than its deposit, and what it paid is exactly what it booked as redeemed.
    function invariant_redeemedWithinDeposit() public view {
        for (uint256 i; i < handler.channelCount(); ++i) {
            uint256 id = handler.channelIds(i);
            IPaymentChannels.Channel memory channel = channels.getChannel(id);
            assertLe(channel.redeemed, channel.deposit);
            assertEq(handler.paidOut(id), channel.redeemed);
        }
    }

    /// @dev No voucher pays twice.
    function invariant_noVoucherPaysTwice() public view {
        assertEq(handler.replaysPaid(), 0);
    }
}

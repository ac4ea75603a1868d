// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAIToken} from "./interfaces/IAIToken.sol";
import {IERC677Receiver} from "./interfaces/IERC677Receiver.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title Modelex AI token
/// @notice "Modelex AI" (AI): 1,000,000,000 tokens minted once to a treasury, with permit, `transferAndCall` and a
/// governed split.
/// @dev The split is share accounting done lazily: each balance and allowance is stored with the split epoch it was
/// written in, and reads multiply it by the product of the factors of the splits since. Because factors are
/// integers the scaling is exact, and a split costs one storage write no matter how many holders there are.
/// OpenZeppelin's private balance and allowance mappings stay unused; `_update`, `_approve` and the views are
/// replaced.
contract AIToken is ERC20, ERC20Permit, AccessControl, IAIToken {
    /// @notice The role that may start a split.
    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice The supply minted at deployment.
    uint256 public constant INITIAL_SUPPLY = 1_000_000_000e18;
    /// @notice The largest factor one split may have.
    uint256 public constant MAX_SPLIT_FACTOR = 1000;
    /// @notice The longest transfer pause a split may have, in blocks.
    uint256 public constant MAX_SPLIT_PAUSE_BLOCKS = 1_000_000;

    /// @dev Balances are uint224 so a balance and its epoch share a slot; splits keep the supply within it.
    uint256 private constant MAX_AMOUNT = type(uint224).max;
    /// @dev Stored allowance meaning "unlimited" (what an approval of type(uint256).max is stored as).
    uint224 private constant UNLIMITED = type(uint224).max;

    struct Entry {
        uint224 amount;
        uint32 epoch;
    }

    /// @dev `effectiveBlock` and `startedAt` outlive the split (a settled split keeps them, with `factor` 0), so
    /// `splitPause` can report the last pause; `factor != 0` alone says a split is pending.
    struct SplitState {
        uint32 epoch;
        uint64 effectiveBlock;
        uint64 factor;
        uint64 startedAt;
    }

    /// @inheritdoc IAIToken
    uint256 public immutable splitPauseBlocks;

    mapping(address account => Entry) private _balanceOf;
    mapping(address owner => mapping(address spender => Entry)) private _allowanceOf;
    /// @dev `_scales[e]`: product of all split factors up to epoch e; `_scales[0] == 1`.
    uint256[] private _scales;
    /// @dev Total supply as of `_split.epoch`.
    uint256 private _supply;
    SplitState private _split;

    constructor(address treasury, address governor, uint256 pauseBlocks)
        ERC20("Modelex AI", "AI")
        ERC20Permit("Modelex AI")
    {
        if (treasury == address(0) || governor == address(0)) revert ZeroAddress();
        if (pauseBlocks > MAX_SPLIT_PAUSE_BLOCKS) revert SplitPauseTooLong(pauseBlocks);
        splitPauseBlocks = pauseBlocks;
        _scales.push(1);
        _grantRole(DEFAULT_ADMIN_ROLE, governor);
        _grantRole(GOVERNOR_ROLE, governor);
        _mint(treasury, INITIAL_SUPPLY);
    }

    /// @inheritdoc IAIToken
    function transferAndCall(address to, uint256 value, bytes calldata data) external returns (bool) {
        _transfer(msg.sender, to, value);
        if (to.code.length > 0) IERC677Receiver(to).onTokenTransfer(msg.sender, value, data);
        return true;
    }

    /// @inheritdoc IAIToken
    function startSplit(uint256 factor) external onlyRole(GOVERNOR_ROLE) {
        SplitState memory split = _settleIfDue();
        if (split.factor != 0) revert SplitAlreadyPending();
        if (factor < 2 || factor > MAX_SPLIT_FACTOR) revert InvalidSplitFactor(factor);
        uint256 supply = _supply;
        if (supply * factor > MAX_AMOUNT) revert SplitOverflow(supply, factor);
        // forge-lint: disable-next-line(unsafe-typecast) block numbers and the bounded pause fit in 64 bits
        uint64 effectiveBlock = uint64(block.number + splitPauseBlocks);
        _split = SplitState({
            epoch: split.epoch,
            effectiveBlock: effectiveBlock,
            // forge-lint: disable-next-line(unsafe-typecast) factor <= MAX_SPLIT_FACTOR
            factor: uint64(factor),
            startedAt: uint64(block.timestamp)
        });
        emit SplitStarted(factor, effectiveBlock);
    }

    /// @inheritdoc IAIToken
    function pendingSplit() external view returns (uint256 factor, uint256 effectiveBlock) {
        SplitState memory split = _split;
        if (split.factor == 0 || block.number >= split.effectiveBlock) return (0, 0);
        return (split.factor, split.effectiveBlock);
    }

    /// @inheritdoc IAIToken
    function splitPause() external view returns (uint256 startedAt, uint256 endBlock) {
        SplitState memory split = _split;
        return (split.startedAt, split.effectiveBlock);
    }

    /// @inheritdoc IAIToken
    function transfersPaused() external view returns (bool) {
        SplitState memory split = _split;
        return split.factor != 0 && block.number < split.effectiveBlock;
    }

    /// @inheritdoc IAIToken
    /// @dev Reads one slot: custodial contracts call it on every write.
    function splitEpoch() external view returns (uint256) {
        SplitState memory split = _split;
        return split.factor != 0 && block.number >= split.effectiveBlock ? split.epoch + 1 : split.epoch;
    }

    /// @inheritdoc IAIToken
    /// @dev One slot read when `epoch` is the current epoch, the common case for custodial contracts.
    function scaleSince(uint256 epoch) external view returns (uint256) {
        SplitState memory split = _split;
        bool due = split.factor != 0 && block.number >= split.effectiveBlock;
        uint256 current = due ? split.epoch + 1 : split.epoch;
        if (epoch == current) return 1;
        if (epoch > current) revert UnknownSplitEpoch(epoch, current);
        uint256 ratio = _scales[split.epoch] / _scales[epoch];
        return due ? ratio * split.factor : ratio;
    }

    /// @inheritdoc IAIToken
    function scale() external view returns (uint256) {
        (, uint256 currentScale) = _current();
        return currentScale;
    }

    /// @inheritdoc ERC20
    function totalSupply() public view override(ERC20, IERC20) returns (uint256) {
        SplitState memory split = _split;
        uint256 supply = _supply;
        return split.factor != 0 && block.number >= split.effectiveBlock ? supply * split.factor : supply;
    }

    /// @inheritdoc ERC20
    function balanceOf(address account) public view override(ERC20, IERC20) returns (uint256) {
        Entry memory entry = _balanceOf[account];
        return entry.amount == 0 ? 0 : entry.amount * _ratio(entry.epoch);
    }

    /// @inheritdoc ERC20
    function allowance(address owner, address spender) public view override(ERC20, IERC20) returns (uint256) {
        Entry memory entry = _allowanceOf[owner][spender];
        if (entry.amount == UNLIMITED) return type(uint256).max;
        if (entry.amount == 0) return 0;
        uint256 ratio = _ratio(entry.epoch);
        // A scaled allowance too large to store is as good as unlimited.
        if (entry.amount > (UNLIMITED - 1) / ratio) return type(uint256).max;
        return entry.amount * ratio;
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, IERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }

    /// @dev Replaces OpenZeppelin's balance bookkeeping with epoch-tagged entries. Minting happens once, in the
    /// constructor; there is no burn.
    function _update(address from, address to, uint256 value) internal override {
        uint32 epoch = _settle();
        if (from == address(0)) {
            _supply += value;
        } else {
            uint256 fromBalance = _read(_balanceOf[from], epoch);
            if (fromBalance < value) revert ERC20InsufficientBalance(from, fromBalance, value);
            unchecked {
                // forge-lint: disable-next-line(unsafe-typecast) below a balance, which fits in 224 bits
                _balanceOf[from] = Entry(uint224(fromBalance - value), epoch);
            }
        }
        // `to` is never zero: ERC20 rejects it and nothing burns.
        // forge-lint: disable-next-line(unsafe-typecast) at most the supply, which splits keep below 2^224
        _balanceOf[to] = Entry(uint224(_read(_balanceOf[to], epoch) + value), epoch);
        emit Transfer(from, to, value);
    }

    /// @dev Allowances are epoch-tagged like balances; approvals of 2^224 - 1 or more are stored as unlimited.
    function _approve(address owner, address spender, uint256 value, bool emitEvent) internal override {
        if (owner == address(0)) revert ERC20InvalidApprover(address(0));
        if (spender == address(0)) revert ERC20InvalidSpender(address(0));
        (uint256 epoch,) = _current();
        // forge-lint: disable-next-line(unsafe-typecast) value < UNLIMITED here; epochs are few
        _allowanceOf[owner][spender] = Entry(value >= UNLIMITED ? UNLIMITED : uint224(value), uint32(epoch));
        if (emitEvent) emit Approval(owner, spender, value);
    }

    /// @dev Settles a split that has taken effect; reverts while one is pending.
    function _settle() private returns (uint32) {
        SplitState memory split = _settleIfDue();
        if (split.factor != 0) revert TransfersPaused(split.effectiveBlock);
        return split.epoch;
    }

    /// @dev Writes a split that has taken effect into storage and returns the split state after it.
    function _settleIfDue() private returns (SplitState memory split) {
        split = _split;
        if (split.factor == 0 || block.number < split.effectiveBlock) return split;
        uint256 newScale = _scales[split.epoch] * split.factor;
        _scales.push(newScale);
        _supply *= split.factor;
        uint32 epoch = split.epoch + 1;
        emit SplitExecuted(split.factor, epoch, newScale);
        split = SplitState({epoch: epoch, effectiveBlock: split.effectiveBlock, factor: 0, startedAt: split.startedAt});
        _split = split;
    }

    /// @dev The current epoch and scale, counting a split that took effect but is not yet settled.
    function _current() private view returns (uint256 epoch, uint256 currentScale) {
        SplitState memory split = _split;
        currentScale = _scales[split.epoch];
        epoch = split.epoch;
        if (split.factor != 0 && block.number >= split.effectiveBlock) {
            currentScale *= split.factor;
            epoch += 1;
        }
    }

    /// @dev How many times larger an amount written in `entryEpoch` reads now.
    function _ratio(uint32 entryEpoch) private view returns (uint256) {
        (uint256 epoch, uint256 currentScale) = _current();
        return entryEpoch == epoch ? 1 : currentScale / _scales[entryEpoch];
    }

    /// @dev `_read` for when the split is settled and the current epoch known.
    function _read(Entry memory entry, uint32 epoch) private view returns (uint256) {
        if (entry.amount == 0 || entry.epoch == epoch) return entry.amount;
        return entry.amount * (_scales[epoch] / _scales[entry.epoch]);
    }
}

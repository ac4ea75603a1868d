/**
 * The commit-reveal rules of OracleRouter, as pure functions: the commitment a node sends (the same bytes the
 * contract hashes, `keccak256(abi.encode(requestId, operator, value, salt))`), salts, and which action a request's
 * state allows at a given block time. A node's oracle service asks `nextOracleAction` what to do; the contract
 * enforces the same rules, so a node that follows them never sends a transaction that reverts for a phase reason.
 *
 * Phases (times are block timestamps in seconds; `<=` as in the contract):
 * - commit: open, fewer than k commits and `now <= commitDeadline`;
 * - reveal: commits closed, `now <= revealDeadline` and some commit not yet revealed;
 * - finalizable: open and `now > revealDeadline`, or commits closed with every commit revealed (none at all);
 * - settled: fulfilled (median delivered) or expired (fewer than the quorum revealed).
 */
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'
import { InvalidChainValueError } from './errors/chain.ts'

export const INT256_MIN = -(2n ** 255n)
export const INT256_MAX = 2n ** 255n - 1n

export type OracleCommitmentInput = { requestId: bigint; operator: Address; value: bigint; salt: Hex }

const HEX32 = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** The commitment OracleRouter.commit expects and OracleRouter.reveal checks. */
export function oracleCommitment({ requestId, operator, value, salt }: OracleCommitmentInput): Hex {
  if (requestId < 0n || requestId >= 2n ** 256n)
    throw new InvalidChainValueError({ field: 'requestId', reason: 'must be a uint256' })
  if (!ADDRESS.test(operator))
    throw new InvalidChainValueError({ field: 'operator', reason: 'must be a 20-byte hex address' })
  if (value < INT256_MIN || value > INT256_MAX)
    throw new InvalidChainValueError({ field: 'value', reason: 'must fit an int256' })
  if (!HEX32.test(salt)) throw new InvalidChainValueError({ field: 'salt', reason: 'must be 32 bytes of hex' })
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, { type: 'int256' }, { type: 'bytes32' }],
      [requestId, operator, value, salt],
    ),
  )
}

/** A fresh 32-byte salt. Keep it (with the value) until the reveal: without it the commitment cannot be opened. */
export function generateSalt(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): Hex {
  const bytes = random(new Uint8Array(32))
  if (bytes.length !== 32)
    throw new InvalidChainValueError({ field: 'salt', reason: 'the random source must fill 32 bytes' })
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/** `IOracleRouter.Status`, by its index on-chain. */
export const ORACLE_STATUSES = ['none', 'open', 'fulfilled', 'expired'] as const
export type OracleStatus = (typeof ORACLE_STATUSES)[number]
/** `IOracleRouter.Phase`, by its index on-chain. */
export const ORACLE_PHASES = ['none', 'commit', 'reveal', 'finalizable', 'settled'] as const
export type OraclePhase = (typeof ORACLE_PHASES)[number]

export function oracleStatusOf(index: number): OracleStatus {
  const status = ORACLE_STATUSES[index]
  if (status === undefined)
    throw new InvalidChainValueError({ field: 'status', reason: `unknown request status ${index}` })
  return status
}

export function oraclePhaseOf(index: number): OraclePhase {
  const phase = ORACLE_PHASES[index]
  if (phase === undefined)
    throw new InvalidChainValueError({ field: 'phase', reason: `unknown request phase ${index}` })
  return phase
}

/** What the phase rules need of a request (as `getOracleRequest` returns it). */
export type OracleRequestState = {
  status: OracleStatus
  k: number
  commits: number
  reveals: number
  commitDeadline: bigint
  revealDeadline: bigint
}

/** Whether the request still takes commits at block time `now`. */
export function commitOpen(state: OracleRequestState, now: bigint): boolean {
  return state.status === 'open' && state.commits < state.k && now <= state.commitDeadline
}

/** The request's phase at block time `now`, as `OracleRouter.phaseOf` computes it. */
export function oraclePhase(state: OracleRequestState, now: bigint): OraclePhase {
  if (state.status === 'none') return 'none'
  if (state.status !== 'open') return 'settled'
  if (commitOpen(state, now)) return 'commit'
  if (now > state.revealDeadline || state.reveals === state.commits) return 'finalizable'
  return 'reveal'
}

/** What one node has done for a request (`commitmentOf`). */
export type OracleNodeState = { committed: boolean; revealed: boolean }

/**
 * What a node should do next: `commit` (it has not, and commits are open), `reveal` (it committed and the reveal
 * window is open), `finalize` (anyone may settle the request now), `wait` (its turn comes later: commits still open
 * after it committed) or `done` (nothing left for it: settled, revealed, or a phase it missed).
 */
export type OracleNodeAction = 'commit' | 'reveal' | 'finalize' | 'wait' | 'done'

export function nextOracleAction(state: OracleRequestState, node: OracleNodeState, now: bigint): OracleNodeAction {
  const phase = oraclePhase(state, now)
  switch (phase) {
    case 'commit':
      return node.committed ? 'wait' : 'commit'
    case 'reveal':
      return node.committed && !node.revealed ? 'reveal' : 'done'
    case 'finalizable':
      return 'finalize'
    default:
      return 'done'
  }
}

/** The block time from which the next phase can begin without further transactions (for scheduling a wake-up). */
export function nextPhaseChangeAt(state: OracleRequestState, now: bigint): bigint | null {
  const phase = oraclePhase(state, now)
  if (phase === 'commit') return state.commitDeadline + 1n
  if (phase === 'reveal') return state.revealDeadline + 1n
  return null
}

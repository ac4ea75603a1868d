/**
 * The schedule rules of OracleRouter subscriptions and the input of a round's request, as pure functions. Round `r`
 * of a subscription is due at `start + r·period` and may be opened by anyone during its slot
 * `[start + r·period, start + (r+1)·period)`; its request's input is
 * `abi.encode(uint256 subscriptionId, uint32 round, bytes32 datasetHash, uint64 windowStart, uint64 windowEnd, bytes params)`
 * with `windowEnd` the round's time and `windowStart = max(0, windowEnd - windowSeconds)`: the node answers over the
 * data set's items dated in `[windowStart, windowEnd)`.
 */
import { decodeAbiParameters, encodeAbiParameters, type Hex } from 'viem'
import { InvalidChainValueError } from './errors/chain.ts'
import type { OracleStatus } from './commit-reveal.ts'

/** `IOracleRouter.RoundStatus`, by its index on-chain. */
export const ROUND_STATUSES = ['scheduled', 'openable', 'open', 'fulfilled', 'missed', 'skipped'] as const
export type RoundStatus = (typeof ROUND_STATUSES)[number]

export function roundStatusOf(index: number): RoundStatus {
  const status = ROUND_STATUSES[index]
  if (status === undefined)
    throw new InvalidChainValueError({ field: 'round status', reason: `unknown round status ${index}` })
  return status
}

/** What the schedule rules need of a subscription (as `getSubscription` returns it). */
export type SubscriptionSchedule = {
  start: bigint
  period: bigint
  rounds: number
  windowSeconds: bigint
  cancelled: boolean
}

/** When round `round` becomes due. */
export function roundOpensAt(schedule: SubscriptionSchedule, round: number): bigint {
  checkRound(schedule, round)
  return schedule.start + BigInt(round) * schedule.period
}

/** The window of items round `round` reads. */
export function roundWindow(schedule: SubscriptionSchedule, round: number): { windowStart: bigint; windowEnd: bigint } {
  const windowEnd = roundOpensAt(schedule, round)
  return { windowStart: windowEnd > schedule.windowSeconds ? windowEnd - schedule.windowSeconds : 0n, windowEnd }
}

/**
 * A round's status at block time `now`, as `OracleRouter.getRound` computes it; `request` is the round's request
 * once opened.
 */
export function roundStatus(
  schedule: SubscriptionSchedule,
  round: number,
  now: bigint,
  request: { status: OracleStatus } | null,
): RoundStatus {
  const opensAt = roundOpensAt(schedule, round)
  if (request) return request.status === 'open' ? 'open' : request.status === 'fulfilled' ? 'fulfilled' : 'missed'
  if (schedule.cancelled || now >= opensAt + schedule.period) return 'skipped'
  return now < opensAt ? 'scheduled' : 'openable'
}

/** The round that may be opened at `now` (its slot is running and it was not opened), or null. */
export function openableRound(schedule: SubscriptionSchedule, now: bigint, opened: ReadonlySet<number>): number | null {
  if (schedule.cancelled || schedule.period <= 0n || now < schedule.start) return null
  const round = Number((now - schedule.start) / schedule.period)
  if (round >= schedule.rounds || opened.has(round)) return null
  return round
}

/** When the next round becomes due after `now`, or null when none is left. */
export function nextRoundAt(schedule: SubscriptionSchedule, now: bigint): bigint | null {
  if (schedule.cancelled || schedule.period <= 0n) return null
  const next = now < schedule.start ? 0 : Number((now - schedule.start) / schedule.period) + 1
  return next < schedule.rounds ? roundOpensAt(schedule, next) : null
}

export type RoundInput = {
  subscriptionId: bigint
  round: number
  datasetHash: Hex
  windowStart: bigint
  windowEnd: bigint
  params: Hex
}

const ROUND_INPUT = [
  { type: 'uint256', name: 'subscriptionId' },
  { type: 'uint32', name: 'round' },
  { type: 'bytes32', name: 'datasetHash' },
  { type: 'uint64', name: 'windowStart' },
  { type: 'uint64', name: 'windowEnd' },
  { type: 'bytes', name: 'params' },
] as const

/** The largest `params` the router accepts (`MAX_PARAMS_BYTES`). */
export const MAX_ROUND_PARAMS_BYTES = 1024

export function encodeRoundInput(input: RoundInput): Hex {
  return encodeAbiParameters(ROUND_INPUT, [
    input.subscriptionId,
    input.round,
    input.datasetHash,
    input.windowStart,
    input.windowEnd,
    input.params,
  ])
}

/** Decodes a round's request input; strict: anything but the router's encoding is an `InvalidChainValueError`. */
export function decodeRoundInput(data: Hex): RoundInput {
  let decoded: readonly [bigint, number, Hex, bigint, bigint, Hex]
  try {
    decoded = decodeAbiParameters(ROUND_INPUT, data)
  } catch (cause) {
    throw new InvalidChainValueError({
      field: 'round input',
      reason: `not abi.encode(subscriptionId, round, datasetHash, windowStart, windowEnd, params): ${(cause as Error).message.split('\n')[0]}`,
    })
  }
  const [subscriptionId, round, datasetHash, windowStart, windowEnd, params] = decoded
  if ((params.length - 2) / 2 > MAX_ROUND_PARAMS_BYTES)
    throw new InvalidChainValueError({ field: 'round input', reason: 'params longer than the router allows' })
  if (windowStart > windowEnd)
    throw new InvalidChainValueError({ field: 'round input', reason: 'window starts after it ends' })
  const input = { subscriptionId, round, datasetHash, windowStart, windowEnd, params }
  if (encodeRoundInput(input).toLowerCase() !== data.toLowerCase())
    throw new InvalidChainValueError({ field: 'round input', reason: 'not in canonical encoding' })
  return input
}

function checkRound(schedule: SubscriptionSchedule, round: number): void {
  if (!Number.isSafeInteger(round) || round < 0 || round >= schedule.rounds) {
    throw new InvalidChainValueError({ field: 'round', reason: `must be an integer in [0, ${schedule.rounds})` })
  }
}

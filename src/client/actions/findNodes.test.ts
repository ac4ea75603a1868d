/** The reputation rule of node choice, and `findNodes`/`nodeCandidates` applying it over a directory stand-in (unit). */
import type { Address, Hex } from 'viem'
import { describe, expect, test } from 'vitest'
import type { Announcement } from '../../core/announcement.ts'
import type { DirectoryEntry } from '../../core/directory.ts'
import { NoNodeAvailableError, NoReputableNodeError } from '../../core/errors/payments.ts'
import type { ClientContext } from '../context.ts'
import {
  filterByReputation,
  findNodes,
  meetsReputation,
  nodeCandidates,
  type NodeReputation,
  type ReputationLookup,
} from './findNodes.ts'

const HASH = `0x${'cd'.repeat(32)}` as Hex
const known = (score: number): NodeReputation => ({ status: 'known', score })
const unknown: NodeReputation = { status: 'unknown', score: null }

function entry(n: number, price: number, rttMs: number | null = 10): DirectoryEntry {
  const operator = `0x${n.toString(16).padStart(40, '0')}` as Address
  const announcement = {
    operator,
    models: [{ id: 'm', contentHash: HASH }],
    pricePerMillionInput: String(price),
    pricePerMillionOutput: '0',
  } as unknown as Announcement
  return { peerId: `peer-${n}`, announcement, firstSeen: 0, lastSeen: 0, rttMs, registered: true }
}

function context(
  entries: DirectoryEntry[],
  reputations: Record<string, NodeReputation>,
  routing?: ClientContext['routing'],
): ClientContext {
  const directory = { watch() {}, list: () => entries, waitFor: async () => entries[0] }
  const reputation: ReputationLookup = (node, modelHash) =>
    modelHash === HASH ? (reputations[node.toLowerCase()] ?? null) : null
  return {
    ready: async () => ({ directory }),
    discoveryTimeoutMs: 0,
    latencyBarMs: 1_000,
    reputation,
    routing,
  } as unknown as ClientContext
}

describe('meetsReputation', () => {
  test('no requirement: every node, known or not', () => {
    for (const r of [null, unknown, known(0), known(100)]) expect(meetsReputation(r, {})).toBe(true)
  })
  test('a minimum skips known nodes below it and keeps unknown ones (unknown is not bad)', () => {
    expect(meetsReputation(known(59), { minReputation: 60 })).toBe(false)
    expect(meetsReputation(known(60), { minReputation: 60 })).toBe(true)
    expect(meetsReputation(unknown, { minReputation: 60 })).toBe(true)
    expect(meetsReputation(null, { minReputation: 60 })).toBe(true)
  })
  test('requireKnown skips unknown nodes; with a minimum both must hold', () => {
    expect(meetsReputation(unknown, { requireKnown: true })).toBe(false)
    expect(meetsReputation(null, { requireKnown: true })).toBe(false)
    // Known but without an overall score: nothing to compare, so not known enough.
    expect(meetsReputation({ status: 'known', score: null }, { requireKnown: true })).toBe(false)
    expect(meetsReputation(known(10), { requireKnown: true })).toBe(true)
    expect(meetsReputation(known(10), { requireKnown: true, minReputation: 50 })).toBe(false)
    expect(meetsReputation(known(90), { requireKnown: true, minReputation: 50 })).toBe(true)
  })
})

describe('choosing nodes with a reputation requirement', () => {
  const a = entry(1, 1)
  const b = entry(2, 2)
  const c = entry(3, 3)
  const reputations = {
    [a.announcement.operator.toLowerCase()]: known(30),
    [b.announcement.operator.toLowerCase()]: known(80),
  }

  test('filterByReputation keeps the qualifying nodes in order and names the skipped ones with their scores', async () => {
    const lookup: ReputationLookup = (node) => reputations[node.toLowerCase()] ?? null
    expect(await filterByReputation([a, b, c], HASH, { minReputation: 50 }, lookup)).toEqual({
      kept: [b, c],
      skipped: [{ peerId: 'peer-1', score: 30 }],
    })
    expect(await filterByReputation([a, b, c], HASH, { minReputation: 50, requireKnown: true }, lookup)).toEqual({
      kept: [b],
      skipped: [
        { peerId: 'peer-1', score: 30 },
        { peerId: 'peer-3', score: null },
      ],
    })
    // Without a lookup every node is unknown.
    expect((await filterByReputation([a, b], HASH, { requireKnown: true }, undefined)).kept).toEqual([])
    // An asynchronous lookup (the app's attestation book) works the same; one that fails counts as unknown.
    expect(
      (await filterByReputation([a, b], HASH, { minReputation: 50 }, async (node) => lookup(node, HASH))).kept,
    ).toEqual([b])
    expect(
      (await filterByReputation([a, b], HASH, { requireKnown: true }, () => Promise.reject(new Error('registry down'))))
        .kept,
    ).toEqual([])
  })

  test('findNodes applies the per-call requirement over the client-wide one; cheapest first among those kept', async () => {
    const ctx = context([c, a, b], reputations, { minReputation: 90 })
    expect(await findNodes(ctx, { model: 'm', contentHash: HASH, minReputation: 50 })).toEqual([b, c])
    expect(await findNodes(ctx, { model: 'm', contentHash: HASH, minReputation: 0 })).toEqual([a, b, c])
    // The client's 90: only the unknown node c passes.
    expect(await findNodes(ctx, { model: 'm', contentHash: HASH })).toEqual([c])
  })

  test('automatic choice: none qualifies → NoReputableNodeError listing the skipped nodes; a named node is used anyway', async () => {
    const ctx = context([a, b, c], reputations, { minReputation: 95, requireKnown: true })
    const error = await nodeCandidates(ctx, { model: 'm', contentHash: HASH }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoReputableNodeError)
    expect((error as NoReputableNodeError).skipped).toEqual([
      { peerId: 'peer-1', score: 30 },
      { peerId: 'peer-2', score: 80 },
      { peerId: 'peer-3', score: null },
    ])
    expect((error as Error).message).toMatch(
      /3 nodes serve m, but none has a reputation of at least 95 and enough evidence to be known/,
    )
    expect(await nodeCandidates(ctx, { model: 'm', contentHash: HASH, node: a })).toEqual([a])
  })

  test('no node at all is still NoNodeAvailableError, not a reputation failure', async () => {
    const ctx = context([], reputations, { requireKnown: true })
    await expect(nodeCandidates(ctx, { model: 'm', contentHash: HASH })).rejects.toBeInstanceOf(NoNodeAvailableError)
  })
})

/**
 * Finding nodes: the registered nodes announcing a model, cheapest first (`findNodes`), and for one request the
 * node asked for or the candidates best first (`nodeCandidates`): those under the latency bar by price, then the rest.
 * Both can require a reputation (`minReputation` 0..100, `requireKnown`): a known node below the minimum is skipped,
 * an unknown one only when `requireKnown` (unknown is not bad: it has not been evaluated enough to say), and when
 * nodes announce the model but none qualifies the choice fails with `NoReputableNodeError` naming what was skipped.
 */
import type { Address, Hex } from 'viem'
import type { DirectoryEntry } from '../../core/directory.ts'
import { NoNodeAvailableError, NoReputableNodeError } from '../../core/errors/payments.ts'
import type { ClientContext } from '../context.ts'

/** What routing needs of a node's reputation (`Reputation` from `src/core/reputation.ts` fits). */
export type NodeReputation = { status: 'unknown' | 'known'; score: number | null }
/** A node's reputation for a model (its operator and the model's content hash), or null when nothing is known. */
export type ReputationLookup = (node: Address, modelHash: Hex) => NodeReputation | null | Promise<NodeReputation | null>
export type ReputationRequirement = {
  /** Known nodes scoring below this (0..100) are skipped. */
  minReputation?: number | undefined
  /** Skip nodes without enough evidence to be known. */
  requireKnown?: boolean | undefined
}

export type FindNodesParameters = { model: string; contentHash: Hex; timeoutMs?: number } & ReputationRequirement

const price = (e: DirectoryEntry) =>
  BigInt(e.announcement.pricePerMillionInput) + BigInt(e.announcement.pricePerMillionOutput)

/** The choice rule: whether a node with `reputation` (null: nothing known) meets `requirement`. */
export function meetsReputation(
  reputation: NodeReputation | null,
  { minReputation, requireKnown = false }: ReputationRequirement,
): boolean {
  const score = reputation?.status === 'known' ? reputation.score : null
  if (score === null) return !requireKnown
  return minReputation === undefined || score >= minReputation
}

/** Splits `entries` into the nodes that meet `requirement` for `contentHash` and those skipped (with their score). */
export async function filterByReputation(
  entries: readonly DirectoryEntry[],
  contentHash: Hex,
  requirement: ReputationRequirement,
  lookup: ReputationLookup | undefined,
): Promise<{ kept: DirectoryEntry[]; skipped: { peerId: string; score: number | null }[] }> {
  if (requirement.minReputation === undefined && !requirement.requireKnown) return { kept: [...entries], skipped: [] }
  const kept: DirectoryEntry[] = []
  const skipped: { peerId: string; score: number | null }[] = []
  // A lookup that fails knows nothing: the node counts as unknown.
  const reputations = await Promise.all(
    entries.map(
      async (e) =>
        (await Promise.resolve(lookup?.(e.announcement.operator, contentHash.toLowerCase() as Hex)).catch(
          () => null,
        )) ?? null,
    ),
  )
  for (const [i, entry] of entries.entries()) {
    const reputation = reputations[i] ?? null
    if (meetsReputation(reputation, requirement)) kept.push(entry)
    else skipped.push({ peerId: entry.peerId, score: reputation?.status === 'known' ? reputation.score : null })
  }
  return { kept, skipped }
}

/** The caller's requirement where it says one, the client's otherwise. */
function requirementOf(context: ClientContext, p: ReputationRequirement): ReputationRequirement {
  return {
    minReputation: p.minReputation ?? context.routing?.minReputation,
    requireKnown: p.requireKnown ?? context.routing?.requireKnown,
  }
}

async function qualified(
  context: ClientContext,
  model: string,
  contentHash: Hex,
  all: DirectoryEntry[],
  p: ReputationRequirement,
): Promise<DirectoryEntry[]> {
  const requirement = requirementOf(context, p)
  const { kept, skipped } = await filterByReputation(all, contentHash, requirement, context.reputation)
  if (kept.length === 0 && skipped.length > 0) throw new NoReputableNodeError({ model, ...requirement, skipped })
  return kept
}

export async function findNodes(
  context: ClientContext,
  { model, contentHash, timeoutMs = context.discoveryTimeoutMs, minReputation, requireKnown }: FindNodesParameters,
): Promise<DirectoryEntry[]> {
  const { directory } = await context.ready()
  directory.watch(contentHash)
  const list = () => directory.list({ contentHash }).filter((e) => e.registered === true)
  if (list().length === 0)
    await directory
      .waitFor(
        (e) => e.registered === true && e.announcement.models.some((m) => m.contentHash.toLowerCase() === contentHash),
        timeoutMs,
      )
      .catch(() => {})
  const sorted = list().sort((a, b) =>
    price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity),
  )
  return qualified(context, model, contentHash, sorted, { minReputation, requireKnown })
}

/** A node named by the caller is used whatever its reputation; automatic choice applies the client's requirement. */
export async function nodeCandidates(
  context: ClientContext,
  { model, contentHash, node }: { model: string; contentHash: Hex; node?: string | DirectoryEntry | undefined },
): Promise<DirectoryEntry[]> {
  if (node && typeof node !== 'string') return [node]
  if (typeof node === 'string') {
    const { directory } = await context.ready()
    directory.watch(contentHash)
    const found = await directory
      .waitFor((e) => e.peerId === node && e.registered === true, context.discoveryTimeoutMs)
      .catch(() => undefined)
    if (!found)
      throw new NoNodeAvailableError({ model, details: `node ${node} is not announcing ${model} as a registered node` })
    return [found]
  }
  const all = await findNodes(context, { model, contentHash })
  const fast = all.filter((e) => e.rttMs !== null && e.rttMs <= context.latencyBarMs)
  const ranked = [...fast, ...all.filter((e) => !fast.includes(e))]
  if (ranked.length === 0) throw new NoNodeAvailableError({ model })
  return ranked
}

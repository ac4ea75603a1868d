/**
 * Finding nodes: the registered nodes announcing a model, cheapest first (`findNodes`), and for one request the
 * node asked for or the candidates best first (`nodeCandidates`): those under the latency bar by price, then the rest.
 */
import type { Hex } from 'viem'
import type { DirectoryEntry } from '../../core/directory.ts'
import { NoNodeAvailableError } from '../../core/errors/payments.ts'
import type { ClientContext } from '../context.ts'

export type FindNodesParameters = { model: string; contentHash: Hex; timeoutMs?: number }

const price = (e: DirectoryEntry) => BigInt(e.announcement.pricePerMillionInput) + BigInt(e.announcement.pricePerMillionOutput)

export async function findNodes(context: ClientContext, { contentHash, timeoutMs = context.discoveryTimeoutMs }: FindNodesParameters): Promise<DirectoryEntry[]> {
  const { directory } = await context.ready()
  directory.watch(contentHash)
  const list = () => directory.list({ contentHash }).filter((e) => e.registered === true)
  if (list().length === 0) await directory.waitFor((e) => e.registered === true && e.announcement.models.some((m) => m.contentHash.toLowerCase() === contentHash), timeoutMs).catch(() => {})
  return list().sort((a, b) => (price(a) < price(b) ? -1 : price(a) > price(b) ? 1 : (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity)))
}

export async function nodeCandidates(context: ClientContext, { model, contentHash, node }: { model: string; contentHash: Hex; node?: string | DirectoryEntry | undefined }): Promise<DirectoryEntry[]> {
  if (node && typeof node !== 'string') return [node]
  if (typeof node === 'string') {
    const { directory } = await context.ready()
    directory.watch(contentHash)
    const found = await directory.waitFor((e) => e.peerId === node && e.registered === true, context.discoveryTimeoutMs).catch(() => undefined)
    if (!found) throw new NoNodeAvailableError({ model, details: `node ${node} is not announcing ${model} as a registered node` })
    return [found]
  }
  const all = await findNodes(context, { model, contentHash })
  const fast = all.filter((e) => e.rttMs !== null && e.rttMs <= context.latencyBarMs)
  const ranked = [...fast, ...all.filter((e) => !fast.includes(e))]
  if (ranked.length === 0) throw new NoNodeAvailableError({ model })
  return ranked
}

/**
 * The models registered on-chain, for a relay that joins only their topics: the union of the models declared by the
 * NodeRegistry's active nodes, read page by page (bounded) and cached. A verdict is answered from the cache at once;
 * a model the cache does not know triggers a refresh soon (at most every `missRefreshMs`), so a node that registers a
 * new model is heard within seconds, and a chain that does not answer leaves the last good set in place.
 */
import type { Address, Client } from 'viem'
import { listActiveNodes } from '../chain/actions/listActiveNodes.ts'

export type RegisteredModelsOptions = {
  /** The set is read again this often. */
  refreshMs?: number
  /** A model not in the set triggers a read this soon after the previous one, at the earliest. */
  missRefreshMs?: number
  /** Active nodes read at most (pages of 100). */
  maxNodes?: number
  now?: () => number
}

export type RegisteredModels = {
  /** true / false from the last good read; undefined before the first one. Asks for a refresh on a miss. */
  verdict(contentHash: string): boolean | undefined
  /** Reads the registry now (one read at a time; concurrent callers share it). */
  refresh(): Promise<void>
  readonly size: number
  readonly readAt: number | null
  readonly failures: number
}

export const REGISTERED_MODELS_DEFAULTS = { refreshMs: 30_000, missRefreshMs: 2_000, maxNodes: 20_000 } as const

export function registeredModels(
  client: Client,
  registry: Address,
  options: RegisteredModelsOptions = {},
): RegisteredModels {
  const { refreshMs, missRefreshMs, maxNodes } = { ...REGISTERED_MODELS_DEFAULTS, ...options }
  const now = options.now ?? Date.now
  let models: Set<string> | null = null
  let readAt: number | null = null
  let triedAt = 0
  let failures = 0
  let reading: Promise<void> | null = null

  const read = async () => {
    triedAt = now()
    const next = new Set<string>()
    const limit = 100n
    for (let offset = 0n; offset < BigInt(maxNodes); offset += limit) {
      const { nodes, total } = await listActiveNodes(client, { registry, offset, limit })
      for (const node of nodes) for (const model of node.models) next.add(model.toLowerCase())
      if (offset + limit >= total) break
    }
    models = next
    readAt = now()
  }
  const refresh = () => {
    reading ??= read()
      .catch(() => {
        failures++
      })
      .finally(() => {
        reading = null
      })
    return reading
  }
  return {
    verdict(contentHash) {
      const hash = contentHash.toLowerCase()
      const known = models?.has(hash)
      const stale = readAt === null || now() - readAt >= refreshMs
      if ((stale || !known) && now() - triedAt >= missRefreshMs) void refresh()
      return models === null ? undefined : (known ?? false)
    },
    refresh,
    get size() {
      return models?.size ?? 0
    },
    get readAt() {
      return readAt
    },
    get failures() {
      return failures
    },
  }
}

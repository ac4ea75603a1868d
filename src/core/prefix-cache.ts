/**
 * Who may reuse an engine's KV cache. An engine keeps the KV state of earlier prompts; a run with `reusePrefix`
 * evaluates only what follows the longest common prefix with a cached state, so its prefill time says how much of
 * its prompt matches a cached one. Between two consumers that is a leak: one could learn, by timing guesses, what
 * another had in its prompt. So every run names its party (`cacheOwner`), the engine remembers whose prompts its
 * cache may hold, and a network party reuses only a cache that holds nobody else's prompts. The person at this
 * machine (`local`: the editor, local chat, the node's operator, who sees every prompt the node serves anyway) may
 * reuse any.
 *
 * What "the cache" holds differs by engine: node-llama-cpp's sequence holds the last run's state only
 * (`keeps: 'last run'`), while llama.cpp's server inside wllama also keeps earlier prompts' states in memory and
 * restores the best match for a reusing run, whatever the slot held last (measured: a prompt typed after an
 * unrelated one reused 70 of its 158 tokens from the run before that), so there every run since the load counts
 * (`keeps: 'every run'`).
 */

/** The owner of runs that name none: the person at this machine (the editor's local autocomplete, local chat). */
export const LOCAL_CACHE_OWNER = 'local'

/** `GenerateOptions.cacheOwner` of a request served for a network peer. */
export const peerCacheOwner = (peerId: string) => `peer:${peerId}`

/** Whose prompts the cache may hold: nobody's (after a load), one party's, or several parties'. */
export type CacheHolders = { kind: 'empty' } | { kind: 'one'; owner: string } | { kind: 'several' }

export const EMPTY_CACHE: CacheHolders = { kind: 'empty' }

/** Whether this run may reuse a cached prefix, and whose prompts the cache may hold after it. */
export function prefixCacheRun(
  holders: CacheHolders,
  { reusePrefix, cacheOwner }: { reusePrefix?: boolean | undefined; cacheOwner?: string | undefined },
  { keeps }: { keeps: 'last run' | 'every run' },
): { reuse: boolean; holders: CacheHolders } {
  const owner = cacheOwner ?? LOCAL_CACHE_OWNER
  const onlyOwn = holders.kind === 'empty' || (holders.kind === 'one' && holders.owner === owner)
  const reuse = reusePrefix === true && (owner === LOCAL_CACHE_OWNER || onlyOwn)
  const next: CacheHolders = keeps === 'last run' || onlyOwn ? { kind: 'one', owner } : { kind: 'several' }
  return { reuse, holders: next }
}

/**
 * Recent code suggestions, so that moving back to a spot, undoing, or typing what the suggestion already says
 * shows it again without asking the model. Suggestions are greedy (temperature 0, fixed seed), so the same context
 * gives the same text and a cached one is what the model would say. Bounded by entry count and total characters,
 * least recently used first out.
 *
 * "Typing through": when the text before the cursor is a cached entry's prefix plus the start of its suggestion,
 * the rest of that suggestion is returned.
 */
import type { StopRule } from './stop-rules.ts'

export type CompletionCacheKey = { model: string; rule: StopRule; prefix: string; suffix: string }

export type CompletionCacheOptions = {
  maxEntries?: number
  /** Upper bound on the characters held (prefixes, suffixes and suggestions together). */
  maxChars?: number
  /** Only this much of the suffix identifies an entry (the engine sees no more). */
  suffixChars?: number
}

type Entry = { model: string; rule: StopRule; prefix: string; suffix: string; text: string; size: number }

export const COMPLETION_CACHE_DEFAULTS = { maxEntries: 128, maxChars: 2_000_000, suffixChars: 2_000 } as const

export class CompletionCache {
  readonly #entries = new Map<string, Entry>()
  readonly #maxEntries: number
  readonly #maxChars: number
  readonly #suffixChars: number
  #chars = 0
  hits = 0
  misses = 0

  constructor({
    maxEntries = COMPLETION_CACHE_DEFAULTS.maxEntries,
    maxChars = COMPLETION_CACHE_DEFAULTS.maxChars,
    suffixChars = COMPLETION_CACHE_DEFAULTS.suffixChars,
  }: CompletionCacheOptions = {}) {
    this.#maxEntries = Math.max(1, maxEntries)
    this.#maxChars = Math.max(1, maxChars)
    this.#suffixChars = suffixChars
  }

  get size(): number {
    return this.#entries.size
  }

  /** The suggestion for this spot, from an exact entry or by typing through one; undefined when none. */
  get(key: CompletionCacheKey): string | undefined {
    const suffix = key.suffix.slice(0, this.#suffixChars)
    const id = this.#id(key.model, key.rule, key.prefix, suffix)
    const exact = this.#entries.get(id)
    if (exact) {
      this.#touch(id, exact)
      this.hits++
      return exact.text
    }
    for (const [entryId, entry] of this.#entries) {
      if (entry.model !== key.model || entry.rule !== key.rule || entry.suffix !== suffix) continue
      if (key.prefix.length <= entry.prefix.length || !key.prefix.startsWith(entry.prefix)) continue
      const typed = key.prefix.slice(entry.prefix.length)
      if (typed.length < entry.text.length && entry.text.startsWith(typed)) {
        this.#touch(entryId, entry)
        this.hits++
        return entry.text.slice(typed.length)
      }
    }
    this.misses++
    return undefined
  }

  set(key: CompletionCacheKey, text: string): void {
    const suffix = key.suffix.slice(0, this.#suffixChars)
    const id = this.#id(key.model, key.rule, key.prefix, suffix)
    this.#delete(id)
    const entry: Entry = {
      model: key.model,
      rule: key.rule,
      prefix: key.prefix,
      suffix,
      text,
      size: key.prefix.length + suffix.length + text.length,
    }
    if (entry.size > this.#maxChars) return
    this.#entries.set(id, entry)
    this.#chars += entry.size
    while (this.#entries.size > this.#maxEntries || this.#chars > this.#maxChars) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.#delete(oldest)
    }
  }

  clear(): void {
    this.#entries.clear()
    this.#chars = 0
  }

  #touch(id: string, entry: Entry): void {
    this.#entries.delete(id)
    this.#entries.set(id, entry)
  }

  #delete(id: string): void {
    const entry = this.#entries.get(id)
    if (!entry) return
    this.#entries.delete(id)
    this.#chars -= entry.size
  }

  #id(model: string, rule: StopRule, prefix: string, suffix: string): string {
    return JSON.stringify([model, rule, prefix, suffix])
  }
}

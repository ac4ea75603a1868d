/**
 * Asks the browser to keep this origin's storage (`navigator.storage.persist()`) once a model is cached, so
 * hundreds of megabytes of model files are not evicted the first time the disk runs low. Browsers decide by
 * themselves (Chromium grants it to installed or often-used sites, Firefox asks the user), so the answer is kept
 * and shown: a refusal is not an error, but the user should know cached models may go.
 */
export type PersistenceState = 'unknown' | 'granted' | 'refused' | 'unsupported'

/** The part of `StorageManager` this needs; the browser's by default. */
export type PersistentStorage = Pick<StorageManager, 'persist' | 'persisted'>

export class StoragePersistence {
  state = $state<PersistenceState>('unknown')
  #storage: PersistentStorage | null
  #asking: Promise<PersistenceState> | null = null

  constructor(
    storage: PersistentStorage | null = (globalThis.navigator?.storage as StorageManager | undefined) ?? null,
  ) {
    this.#storage = storage && typeof storage.persist === 'function' ? storage : null
  }

  /** Asks once per page (a granted persistence stays granted; a refusal is asked again on the next load). */
  request(): Promise<PersistenceState> {
    if (this.state === 'granted' || this.state === 'refused' || this.state === 'unsupported')
      return Promise.resolve(this.state)
    this.#asking ??= this.#ask().then((state) => (this.state = state))
    return this.#asking
  }

  async #ask(): Promise<PersistenceState> {
    const storage = this.#storage
    if (!storage) return 'unsupported'
    try {
      if (await storage.persisted()) return 'granted'
      return (await storage.persist()) ? 'granted' : 'refused'
    } catch {
      // Some browsers throw in private windows or insecure contexts instead of answering false.
      return 'refused'
    }
  }

  /** One line for the UI, or null before any model was cached. */
  get message(): string | null {
    switch (this.state) {
      case 'granted':
        return 'Storage is persistent: the browser keeps cached models until you delete them.'
      case 'refused':
        return 'The browser refused persistent storage: it may delete cached models when disk space runs low. Installing the app usually lets it keep them.'
      case 'unsupported':
        return 'This browser cannot make storage persistent: it may delete cached models when disk space runs low.'
      default:
        return null
    }
  }
}

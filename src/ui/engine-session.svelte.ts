/**
 * The app's one inference engine: which backend runs, which model is loaded, load progress and errors. Views
 * (Models, Code, Node) share it, so a model loaded once serves the playground, the editor and the network.
 */
import { serializeError, type SerializedError } from '../core/errors/index.ts'
import type { EngineKind, InferenceEngine, LoadedModel, LoadProgress } from '../core/inference.ts'
import type { ModelRecord } from '../core/models.ts'
import type { EngineProxy } from '../engine/worker-host.ts'

export type EngineStarter = (kind: Exclude<EngineKind, 'memory'>) => EngineProxy

export type EngineSessionOptions = {
  /** Called when a model is ready: its file is in this browser's model cache by then (the app asks to keep storage). */
  onReady?: (loaded: LoadedModel, record: ModelRecord) => void
}

export class EngineSession {
  status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle')
  model = $state<ModelRecord | null>(null)
  /** What the engine loaded, once ready: its `contentHash` is the keccak256 of the file, the model's network id. */
  loaded = $state<LoadedModel | null>(null)
  progress = $state<LoadProgress | null>(null)
  error = $state<SerializedError | null>(null)
  #engine: EngineProxy | null = null
  #start: EngineStarter
  #loading: AbortController | null = null
  #onReady: EngineSessionOptions['onReady']

  constructor(start: EngineStarter, options: EngineSessionOptions = {}) {
    this.#start = start
    this.#onReady = options.onReady
  }

  /** The engine when a model is ready, else null. */
  get engine(): InferenceEngine | null {
    return this.status === 'ready' ? this.#engine : null
  }

  async load(record: ModelRecord): Promise<void> {
    if (record.engine === 'memory') throw new Error('The in-memory engine is for tests, not for the app.')
    this.#loading?.abort()
    const loading = (this.#loading = new AbortController())
    if (this.#engine && this.#engine.kind !== record.engine) {
      this.#engine.terminate()
      this.#engine = null
    }
    this.#engine ??= this.#start(record.engine)
    this.status = 'loading'
    this.model = record
    this.loaded = null
    this.error = null
    this.progress = { phase: 'download', progress: 0, text: 'starting' }
    try {
      const loaded = await this.#engine.load(record, { signal: loading.signal, onProgress: (p) => (this.progress = p) })
      if (loading.signal.aborted) return
      this.loaded = loaded
      this.status = 'ready'
      this.#onReady?.(loaded, record)
    } catch (error) {
      if (loading.signal.aborted) return
      this.status = 'error'
      this.error = serializeError(error)
    }
  }

  async unload(): Promise<void> {
    this.#loading?.abort()
    await this.#engine?.unload()
    this.status = 'idle'
    this.model = null
    this.loaded = null
    this.progress = null
  }
}

/**
 * Starts an engine of either kind in its own dedicated worker (one engine per worker) and returns the
 * main-thread proxy, which implements `InferenceEngine` like the engine itself.
 */
import type { EngineKind } from '../core/inference.ts'
import { createEngineProxy, type EngineProxy } from './worker-host.ts'

export function startEngine(kind: Exclude<EngineKind, 'memory'>): EngineProxy {
  const worker =
    kind === 'wasm'
      ? new Worker(new URL('../../workers/wasm-engine.worker.ts', import.meta.url), {
          type: 'module',
          name: 'modelex-wasm-engine',
        })
      : new Worker(new URL('../../workers/webgpu-engine.worker.ts', import.meta.url), {
          type: 'module',
          name: 'modelex-webgpu-engine',
        })
  return createEngineProxy(worker, kind)
}

/** Starts the WebAssembly engine in its own dedicated worker and returns the main-thread proxy. */
import { createEngineProxy, type EngineProxy } from '../worker-host.ts'

export function startWasmEngine(): EngineProxy {
  const worker = new Worker(new URL('../../../workers/wasm-engine.worker.ts', import.meta.url), { type: 'module', name: 'modelex-wasm-engine' })
  return createEngineProxy(worker, 'wasm')
}

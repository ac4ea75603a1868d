/** Starts the WebAssembly engine in its own dedicated worker and returns the main-thread proxy. */
import { startEngine } from '../start.ts'
import type { EngineProxy } from '../worker-host.ts'

export function startWasmEngine(): EngineProxy {
  return startEngine('wasm')
}

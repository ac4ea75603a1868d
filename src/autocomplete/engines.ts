/**
 * The coder models the Code view offers per engine: the WebAssembly catalog's (demo models first, then GGUF coders)
 * and web-llm's prebuilt coders (Qwen2.5-Coder 0.5B, 1.5B, 7B). web-llm's catalog is imported only when asked
 * for, so the editor does not pull it in before someone wants a WebGPU model. Engines start through
 * `src/engine/start.ts`, each in its own worker.
 */
import type { EngineKind } from '../core/inference.ts'
import { WASM_CATALOG, type ModelRecord } from '../core/models.ts'

export type CoderEngineKind = Exclude<EngineKind, 'memory'>

export function wasmCoderModels(): ModelRecord[] {
  return WASM_CATALOG.filter((m) => m.coder)
}

export async function webGpuCoderModels(): Promise<ModelRecord[]> {
  const { webGpuCatalog } = await import('../engine/webgpu/catalog.ts')
  return webGpuCatalog().filter((m) => m.coder && m.fim !== undefined)
}

/**
 * The capability probe, run inside a dedicated worker: engines run in workers, so what matters is what a worker
 * can reach (WebGPU in workers can differ from the page). The worker file itself is `workers/probe.worker.ts`.
 */
import { wrap, type Remote } from 'comlink'
import type { EngineCapabilities, GpuAdapterSummary } from '../core/capabilities.ts'
import { probeCapabilities, probeWebGpu, type ProbeScope } from './probe.ts'
import { installErrorTransfer } from './worker-errors.ts'

export type ProbeApi = {
  capabilities(): Promise<EngineCapabilities>
  /** Throws `WebGpuUnavailableError` when there is no usable adapter. */
  webgpu(): Promise<GpuAdapterSummary>
}

export function createProbeApi(scope: ProbeScope): ProbeApi {
  return {
    capabilities: () => probeCapabilities(scope),
    webgpu: () => probeWebGpu(scope),
  }
}

export type ProbeWorker = { api: Remote<ProbeApi>; terminate(): void }

export function startProbeWorker(): ProbeWorker {
  installErrorTransfer()
  const worker = new Worker(new URL('../../workers/probe.worker.ts', import.meta.url), {
    type: 'module',
    name: 'modelex-probe',
  })
  return { api: wrap<ProbeApi>(worker), terminate: () => worker.terminate() }
}

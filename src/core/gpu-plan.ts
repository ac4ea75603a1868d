/**
 * Where a GGUF model's layers run in the WebAssembly engine: llama.cpp's WebGPU backend (inside wllama) when the
 * adapter has what that backend needs, else the CPU, with the reason in words for the Models view. Pure: the
 * engine probes the adapter in its worker and reads the GGUF header, asks `gpuPlan`, loads with the plan's
 * `n_gpu_layers`, then reports what llama.cpp actually did (`offloadFromLog`, `placementOf`).
 *
 * What the backend needs (llama.cpp ggml-webgpu, as built into wllama 3.8): an adapter with `shader-f16` (it
 * asserts it and aborts otherwise, so we never let it try without); a software adapter (SwiftShader, llvmpipe) is
 * slower than the CPU build and is never used. WebGPU does not report video memory, so the budget is
 * `deviceBudget`'s heuristic; a model larger than it gets as many layers as fit, the rest stay on the CPU.
 *
 * Layers are counted as llama.cpp counts them for `n_gpu_layers`: the model's repeating blocks
 * (`<arch>.block_count`) plus its output layer, so a 24-block model has 25 and "GPU: 25/25 layers" is all of it.
 */
import { describeAdapter, isSoftwareAdapter, type GpuAdapterSummary, type WebGpuStatus } from './capabilities.ts'
import { deviceBudget } from './models.ts'

/** The WebGPU features llama.cpp's WebGPU backend requires of the adapter. */
export const GGML_WEBGPU_REQUIRED_FEATURES: readonly string[] = ['shader-f16']

/** Where the loaded model's layers run, as `LoadedModel.placement` reports it. */
export type Placement = {
  device: 'gpu' | 'cpu'
  /** Layers on the GPU (llama.cpp's count: repeating blocks plus the output layer); 0 on the CPU. */
  layers: number
  /** All the model's layers, counted the same way. */
  totalLayers: number
  /** The adapter the layers run on (`describeAdapter`), when on the GPU or when one was refused. */
  adapter?: string
  /** Why not (all) on the GPU. */
  reason?: string
}

export type GpuPlanModel = {
  /** `<arch>.block_count` of the GGUF. */
  blocks: number
  /** Size of the weights file: what the GPU must hold, about, for all layers. */
  weightsBytes: number
}

export type GpuPlanOptions = {
  /** `'cpu'`: keep the model on the CPU (bit-reproducible output). Default `'auto'`. */
  preference?: 'auto' | 'cpu'
  /** `navigator.deviceMemory` (GiB), for the memory budget of hardware adapters. */
  deviceMemoryGB?: number
}

/** `layers`: llama.cpp's `n_gpu_layers` (0: CPU only); `reason` when not all of them go to the GPU. */
export type GpuPlan = { layers: number; totalLayers: number; adapter?: string; reason?: string }

const MiB = 2 ** 20

/** Short words for why there is no adapter, by `WebGpuUnavailableError`'s reason. */
const NO_ADAPTER: Record<string, string> = {
  'no-api': 'this browser has no WebGPU',
  'insecure-context': 'WebGPU needs a secure context (https or localhost)',
  'no-adapter': 'the browser offers no WebGPU adapter',
  'adapter-failed': 'asking the browser for a WebGPU adapter failed',
}

/** The adapter features llama.cpp's WebGPU backend needs that this adapter lacks. */
export function missingGpuFeatures(adapter: Pick<GpuAdapterSummary, 'features'>): string[] {
  return GGML_WEBGPU_REQUIRED_FEATURES.filter((feature) => !adapter.features.includes(feature))
}

export function gpuPlan(
  webgpu: WebGpuStatus,
  model: GpuPlanModel,
  { preference = 'auto', deviceMemoryGB }: GpuPlanOptions = {},
): GpuPlan {
  const blocks = Math.max(0, Math.floor(model.blocks))
  const totalLayers = blocks + 1
  const cpu = (reason: string, adapter?: string): GpuPlan => ({
    layers: 0,
    totalLayers,
    reason,
    ...(adapter ? { adapter } : {}),
  })
  if (preference === 'cpu') return cpu('GPU off: the CPU was chosen, for bit-reproducible output')
  if (!webgpu.available) {
    const reason = webgpu.error.data?.['reason']
    return cpu(
      NO_ADAPTER[typeof reason === 'string' ? reason : ''] ??
        `no WebGPU adapter (${webgpu.error.shortMessage ?? webgpu.error.message})`,
    )
  }
  const adapter = webgpu.adapter
  const name = describeAdapter(adapter)
  const missing = missingGpuFeatures(adapter)
  if (missing.length > 0)
    return cpu(`${name} lacks ${missing.join(', ')}, which llama.cpp's WebGPU backend needs`, name)
  if (isSoftwareAdapter(adapter)) return cpu(`${name} is a software adapter, slower than the CPU build`, name)
  if (blocks === 0) return cpu('the model file reports no layers', name)
  const budgetBytes = deviceBudget(adapter, deviceMemoryGB).memoryMB * MiB
  // The token embeddings stay on the CPU in llama.cpp and weigh about one layer; the rest splits evenly.
  const perLayer = model.weightsBytes / (totalLayers + 1)
  if (model.weightsBytes <= budgetBytes || perLayer <= 0) return { layers: totalLayers, totalLayers, adapter: name }
  const layers = Math.min(totalLayers, Math.floor(budgetBytes / perLayer))
  const needs = `needs about ${Math.ceil(model.weightsBytes / MiB)} MiB, ${name} offers about ${Math.floor(budgetBytes / MiB)} MiB`
  if (layers < 1) return cpu(`the model ${needs}`, name)
  return {
    layers,
    totalLayers,
    adapter: name,
    reason: `the other ${totalLayers - layers} stay on the CPU: the model ${needs}`,
  }
}

/** What llama.cpp says it offloaded while loading: its "offloaded X/Y layers to GPU" line, or null when it has none. */
export type Offload = { layers: number; totalLayers: number }

/**
 * Reads llama.cpp's load log. It prints "load_tensors: offloaded X/Y layers to GPU" only when a GPU backend
 * registered a device; without that line every layer is on the CPU, whatever `n_gpu_layers` asked.
 */
export function offloadFromLog(lines: readonly string[]): Offload | null {
  for (const line of lines) {
    const match = /offloaded (\d+)\/(\d+) layers to GPU/.exec(line)
    if (match) return { layers: Number(match[1]), totalLayers: Number(match[2]) }
  }
  return null
}

/** The lines of a load log that say something about WebGPU, for a failure reason (bounded). */
export function webGpuLogLines(lines: readonly string[], limit = 4): string[] {
  return lines
    .filter((line) => /ggml_webgpu|webgpu/i.test(line))
    .map((line) => line.trim().slice(0, 300))
    .slice(0, limit)
}

export type LoadOutcome = {
  /** The GPU load threw, and the model was loaded again on the CPU: the error's message. */
  failure?: string
  /** What llama.cpp reported offloading (`offloadFromLog`), for a load that asked for GPU layers. */
  offload?: Offload | null
  /** WebGPU lines of the load log, to explain an offload that did not happen. */
  log?: readonly string[]
}

/** The placement a plan gives once loaded: what llama.cpp reports, or the CPU with the reason it did not. */
export function placementOf(plan: GpuPlan, { failure, offload, log = [] }: LoadOutcome = {}): Placement {
  const adapter = plan.adapter ? { adapter: plan.adapter } : {}
  const onCpu = (reason?: string): Placement => ({
    device: 'cpu',
    layers: 0,
    totalLayers: plan.totalLayers,
    ...adapter,
    ...(reason ? { reason } : {}),
  })
  if (plan.layers <= 0) return onCpu(plan.reason)
  if (failure !== undefined) return onCpu(`WebGPU failed at load, so the CPU runs it: ${failure}`)
  if (offload === undefined)
    return {
      device: 'gpu',
      layers: plan.layers,
      totalLayers: plan.totalLayers,
      ...adapter,
      ...(plan.reason ? { reason: plan.reason } : {}),
    }
  if (offload === null || offload.layers === 0) {
    const said = log.length > 0 ? ` (${log.join('; ')})` : ''
    return onCpu(
      `llama.cpp's WebGPU backend registered no GPU in wllama's worker, so every layer runs on the CPU${said}`,
    )
  }
  const partial =
    offload.layers < offload.totalLayers
      ? { reason: plan.reason ?? `the other ${offload.totalLayers - offload.layers} stay on the CPU` }
      : {}
  return { device: 'gpu', layers: offload.layers, totalLayers: offload.totalLayers, ...adapter, ...partial }
}

/** One line for people: "GPU: 25/25 layers on nvidia hopper" or "CPU: <reason>". */
export function describePlacement(placement: Placement): string {
  if (placement.device === 'gpu') {
    const on = placement.adapter ? ` on ${placement.adapter}` : ''
    return `GPU: ${placement.layers}/${placement.totalLayers} layers${on}${placement.reason ? `; ${placement.reason}` : ''}`
  }
  return `CPU: ${placement.reason ?? 'WebAssembly'}`
}

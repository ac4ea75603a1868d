/**
 * Finds out what the current browser context (page or worker) can run: asks WebGPU for an adapter and reads
 * CPU threads and cross-origin isolation. Failures become a typed `WebGpuUnavailableError` with the reason.
 */
import type { EngineCapabilities, GpuAdapterSummary } from '../core/capabilities.ts'
import { serializeError, WebGpuUnavailableError } from '../core/errors/index.ts'

/** The parts of a window or worker global scope the probe reads; injectable for tests. */
export type ProbeScope = {
  navigator: { gpu?: GPU | undefined; hardwareConcurrency?: number }
  isSecureContext: boolean
  crossOriginIsolated?: boolean
}

export async function probeWebGpu(scope: ProbeScope): Promise<GpuAdapterSummary> {
  if (!scope.isSecureContext) throw new WebGpuUnavailableError({ reason: 'insecure-context' })
  const gpu = scope.navigator.gpu
  if (!gpu)
    throw new WebGpuUnavailableError({ reason: 'no-api', details: 'navigator.gpu is undefined in this context.' })
  let adapter: GPUAdapter | null
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' })
  } catch (cause) {
    throw new WebGpuUnavailableError({
      reason: 'adapter-failed',
      details: 'navigator.gpu.requestAdapter() threw.',
      cause,
    })
  }
  if (!adapter)
    throw new WebGpuUnavailableError({ reason: 'no-adapter', details: 'navigator.gpu.requestAdapter() returned null.' })
  const info = adapter.info
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...adapter.features].sort(),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
  }
}

export async function probeCapabilities(scope: ProbeScope): Promise<EngineCapabilities> {
  let webgpu: EngineCapabilities['webgpu']
  try {
    webgpu = { available: true, adapter: await probeWebGpu(scope) }
  } catch (error) {
    webgpu = { available: false, error: serializeError(error) }
  }
  return {
    webgpu,
    cpuThreads: scope.navigator.hardwareConcurrency ?? 1,
    crossOriginIsolated: scope.crossOriginIsolated ?? false,
  }
}

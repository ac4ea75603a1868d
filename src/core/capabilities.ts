/**
 * What this browser can offer the network: a WebGPU adapter (or why not), CPU threads, and cross-origin isolation
 * (which threaded WebAssembly needs). Plain data, so it crosses workers and goes into announcements.
 */
import type { SerializedError } from './errors/base.ts'

export type GpuAdapterSummary = {
  vendor: string
  architecture: string
  device: string
  description: string
  /** True for software adapters such as SwiftShader: usable, but far too slow for real models. */
  isFallbackAdapter: boolean
  features: string[]
  limits: {
    maxBufferSize: number
    maxStorageBufferBindingSize: number
    maxComputeWorkgroupStorageSize: number
    maxComputeInvocationsPerWorkgroup: number
  }
}

export type WebGpuStatus = { available: true; adapter: GpuAdapterSummary } | { available: false; error: SerializedError }

export type EngineCapabilities = {
  webgpu: WebGpuStatus
  cpuThreads: number
  crossOriginIsolated: boolean
}

/** A one-line name for an adapter, e.g. "google swiftshader (software)". */
export function describeAdapter(adapter: GpuAdapterSummary): string {
  const name = [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') || adapter.description || 'unknown adapter'
  const software = adapter.isFallbackAdapter || /swiftshader|llvmpipe|software/i.test(`${name} ${adapter.description}`)
  return software ? `${name} (software)` : name
}

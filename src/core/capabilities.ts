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

export type WebGpuStatus =
  { available: true; adapter: GpuAdapterSummary } | { available: false; error: SerializedError }

export type EngineCapabilities = {
  webgpu: WebGpuStatus
  cpuThreads: number
  crossOriginIsolated: boolean
}

/** A one-line name for an adapter, e.g. "google swiftshader (software)". */
export function describeAdapter(adapter: GpuAdapterSummary): string {
  const name = adapterName(adapter)
  return isSoftwareAdapter(adapter) ? `${name} (software)` : name
}

/** True for software adapters (SwiftShader, llvmpipe): WebGPU works there, but slower than the CPU build of an engine. */
export function isSoftwareAdapter(adapter: GpuAdapterSummary): boolean {
  return (
    adapter.isFallbackAdapter || /swiftshader|llvmpipe|software/i.test(`${adapterName(adapter)} ${adapter.description}`)
  )
}

function adapterName(adapter: GpuAdapterSummary): string {
  return (
    [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') ||
    adapter.description ||
    'unknown adapter'
  )
}

/** Everything a report needs to say why an adapter can or cannot run something: name, features, key limits. */
export function adapterReport(adapter: GpuAdapterSummary): string {
  const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`
  return [
    `${describeAdapter(adapter)}${adapter.description ? ` [${adapter.description}]` : ''}`,
    `features: ${adapter.features.length ? adapter.features.join(', ') : 'none'}`,
    `maxBufferSize ${mib(adapter.limits.maxBufferSize)}, maxStorageBufferBindingSize ${mib(adapter.limits.maxStorageBufferBindingSize)}`,
  ].join('; ')
}

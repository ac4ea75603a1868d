import { describe, expect, test } from 'vitest'
import { WebGpuUnavailableError } from '../core/errors/index.ts'
import { probeCapabilities, probeWebGpu, type ProbeScope } from './probe.ts'

// navigator.gpu is a boundary this machine's Node cannot reach; the real adapter is covered by the browser suite.
const fakeAdapter = {
  info: { vendor: 'acme', architecture: 'x1', device: 'd', description: 'Acme X1', isFallbackAdapter: false },
  features: new Set(['shader-f16', 'timestamp-query']),
  limits: {
    maxBufferSize: 1 << 30,
    maxStorageBufferBindingSize: 1 << 28,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
  },
} as unknown as GPUAdapter

const scope = (gpu: Partial<GPU> | undefined, isSecureContext = true): ProbeScope => ({
  navigator: { gpu: gpu as GPU | undefined, hardwareConcurrency: 8 },
  isSecureContext,
  crossOriginIsolated: true,
})

describe('probeWebGpu', () => {
  test('summarises the adapter', async () => {
    const summary = await probeWebGpu(scope({ requestAdapter: async () => fakeAdapter }))
    expect(summary).toMatchObject({
      vendor: 'acme',
      features: ['shader-f16', 'timestamp-query'],
      isFallbackAdapter: false,
    })
    expect(summary.limits.maxBufferSize).toBe(1 << 30)
  })

  test.each([
    ['insecure-context', scope({ requestAdapter: async () => fakeAdapter }, false)],
    ['no-api', scope(undefined)],
    ['no-adapter', scope({ requestAdapter: async () => null })],
    ['adapter-failed', scope({ requestAdapter: async () => Promise.reject(new Error('boom')) })],
  ] as const)('reports %s as a typed error', async (reason, s) => {
    const error = await probeWebGpu(s).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WebGpuUnavailableError)
    expect((error as WebGpuUnavailableError).reason).toBe(reason)
  })
})

test('probeCapabilities turns a missing GPU into data, not a throw', async () => {
  const result = await probeCapabilities(scope(undefined))
  expect(result.webgpu.available).toBe(false)
  if (!result.webgpu.available) expect(result.webgpu.error.name).toBe('WebGpuUnavailableError')
  expect(result.cpuThreads).toBe(8)
  expect(result.crossOriginIsolated).toBe(true)
})

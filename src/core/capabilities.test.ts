import { expect, test } from 'vitest'
import { describeAdapter, type GpuAdapterSummary } from './capabilities.ts'

const adapter = (fields: Partial<GpuAdapterSummary>): GpuAdapterSummary => ({
  vendor: '',
  architecture: '',
  device: '',
  description: '',
  isFallbackAdapter: false,
  features: [],
  limits: {
    maxBufferSize: 0,
    maxStorageBufferBindingSize: 0,
    maxComputeWorkgroupStorageSize: 0,
    maxComputeInvocationsPerWorkgroup: 0,
  },
  ...fields,
})

test('describeAdapter names hardware and marks software adapters', () => {
  expect(describeAdapter(adapter({ vendor: 'nvidia', architecture: 'hopper' }))).toBe('nvidia hopper')
  expect(describeAdapter(adapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }))).toBe(
    'google swiftshader (software)',
  )
  expect(describeAdapter(adapter({ description: 'llvmpipe (LLVM 15)' }))).toBe('llvmpipe (LLVM 15) (software)')
  expect(describeAdapter(adapter({}))).toBe('unknown adapter')
})

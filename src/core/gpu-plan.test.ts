import { describe, expect, test } from 'vitest'
import { adapterReport, isSoftwareAdapter, type GpuAdapterSummary, type WebGpuStatus } from './capabilities.ts'
import { serializeError, WebGpuUnavailableError } from './errors/index.ts'
import {
  describePlacement,
  gpuPlan,
  missingGpuFeatures,
  offloadFromLog,
  placementOf,
  webGpuLogLines,
} from './gpu-plan.ts'

const MiB = 2 ** 20
const limits = {
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 30,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
}

/** What Chromium's SwiftShader reports on this machine (`--enable-unsafe-webgpu`, no GPU): no shader-f16. */
const swiftshader: GpuAdapterSummary = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: 'SwiftShader Device (Subzero)',
  isFallbackAdapter: true,
  features: ['core-features-and-limits', 'depth-clip-control', 'float32-filterable', 'timestamp-query'],
  limits,
}
const nvidia: GpuAdapterSummary = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: '',
  description: 'NVIDIA H200',
  isFallbackAdapter: false,
  features: ['shader-f16', 'subgroups', 'timestamp-query'],
  limits,
}
const available = (adapter: GpuAdapterSummary): WebGpuStatus => ({ available: true, adapter })
const model = { blocks: 24, weightsBytes: 500 * MiB }

describe('gpuPlan', () => {
  test('a hardware adapter with shader-f16 gets every layer, the output layer included', () => {
    expect(gpuPlan(available(nvidia), model)).toEqual({ layers: 25, totalLayers: 25, adapter: 'nvidia hopper' })
  })

  test('SwiftShader stays on the CPU: it lacks shader-f16, and the reason names it', () => {
    const plan = gpuPlan(available(swiftshader), model)
    expect(plan.layers).toBe(0)
    expect(plan.adapter).toBe('google swiftshader (software)')
    expect(plan.reason).toBe("google swiftshader (software) lacks shader-f16, which llama.cpp's WebGPU backend needs")
  })

  test('a software adapter that has shader-f16 is still not used', () => {
    const plan = gpuPlan(available({ ...swiftshader, features: [...swiftshader.features, 'shader-f16'] }), model)
    expect(plan).toMatchObject({ layers: 0, reason: expect.stringMatching(/software adapter/) })
  })

  test('no adapter: the reason says why in words', () => {
    const error = serializeError(new WebGpuUnavailableError({ reason: 'no-adapter' }))
    expect(gpuPlan({ available: false, error }, model)).toEqual({
      layers: 0,
      totalLayers: 25,
      reason: 'the browser offers no WebGPU adapter',
    })
  })

  test('the operator can keep the model on the CPU', () => {
    expect(gpuPlan(available(nvidia), model, { preference: 'cpu' })).toMatchObject({
      layers: 0,
      reason: expect.stringMatching(/the CPU was chosen/),
    })
  })

  test('a model larger than the budget gets the layers that fit, the rest stay on the CPU', () => {
    // Hardware budget without navigator.deviceMemory: 4 GiB. 25 layers and the embeddings, 256 MiB each: 16 fit.
    const plan = gpuPlan(available(nvidia), { blocks: 24, weightsBytes: 26 * 256 * MiB })
    expect(plan.layers).toBe(16)
    expect(plan.reason).toBe(
      'the other 9 stay on the CPU: the model needs about 6656 MiB, nvidia hopper offers about 4096 MiB',
    )
    expect(gpuPlan(available(nvidia), { blocks: 24, weightsBytes: 26 * 256 * MiB }, { deviceMemoryGB: 8 }).layers).toBe(
      25,
    )
  })

  test('a model far too large for the budget stays on the CPU', () => {
    const plan = gpuPlan(available(nvidia), { blocks: 4, weightsBytes: 64 * 1024 * MiB })
    expect(plan).toMatchObject({ layers: 0, reason: expect.stringMatching(/^the model needs about 65536 MiB/) })
  })

  test('never more layers than the model has, never fewer than none', () => {
    for (const blocks of [0, 1, 3, 24, 80]) {
      for (const weightsBytes of [0, MiB, 512 * MiB, 8 * 1024 * MiB, 200 * 1024 * MiB]) {
        const plan = gpuPlan(available(nvidia), { blocks, weightsBytes })
        expect(plan.layers).toBeGreaterThanOrEqual(0)
        expect(plan.layers).toBeLessThanOrEqual(blocks + 1)
        expect(plan.totalLayers).toBe(blocks + 1)
        if (plan.layers < blocks + 1) expect(plan.reason).toBeTruthy()
      }
    }
  })
})

test('an adapter report names the adapter, its features and the limits that bound a model', () => {
  expect(isSoftwareAdapter(swiftshader)).toBe(true)
  expect(isSoftwareAdapter(nvidia)).toBe(false)
  expect(adapterReport(nvidia)).toBe(
    'nvidia hopper [NVIDIA H200]; features: shader-f16, subgroups, timestamp-query; maxBufferSize 2048 MiB, maxStorageBufferBindingSize 1024 MiB',
  )
})

test('missingGpuFeatures lists what the backend needs and the adapter lacks', () => {
  expect(missingGpuFeatures(swiftshader)).toEqual(['shader-f16'])
  expect(missingGpuFeatures(nvidia)).toEqual([])
})

test("offloadFromLog reads llama.cpp's offload line; without one nothing was offloaded", () => {
  const log = [
    'load_tensors: loading model tensors, this can take a while... (load_mode = none)',
    'load_tensors: offloading 24 repeating layers to GPU',
    'load_tensors: offloaded 25/25 layers to GPU',
    'load_tensors:   WebGPU model buffer size =   480.00 MiB',
  ]
  expect(offloadFromLog(log)).toEqual({ layers: 25, totalLayers: 25 })
  expect(offloadFromLog(['load_tensors:          CPU model buffer size =     0.25 MiB'])).toBeNull()
  expect(
    webGpuLogLines(['print_info: n_layer = 2', 'ggml_webgpu: Failed to get an adapter: requestAdapter returned null']),
  ).toEqual(['ggml_webgpu: Failed to get an adapter: requestAdapter returned null'])
})

describe('placement', () => {
  test('on the GPU, as llama.cpp reports it', () => {
    const placement = placementOf(gpuPlan(available(nvidia), model), { offload: { layers: 25, totalLayers: 25 } })
    expect(placement).toEqual({ device: 'gpu', layers: 25, totalLayers: 25, adapter: 'nvidia hopper' })
    expect(describePlacement(placement)).toBe('GPU: 25/25 layers on nvidia hopper')
  })

  test('partly on the GPU', () => {
    const placement = placementOf(gpuPlan(available(nvidia), { blocks: 24, weightsBytes: 26 * 256 * MiB }), {
      offload: { layers: 16, totalLayers: 25 },
    })
    expect(describePlacement(placement)).toMatch(/^GPU: 16\/25 layers on nvidia hopper; the other 9 stay on the CPU/)
  })

  test('asked for the GPU, but llama.cpp registered no GPU device: the CPU, and it says so', () => {
    const placement = placementOf(gpuPlan(available(nvidia), model), {
      offload: null,
      log: ['ggml_webgpu: Failed to get an adapter: x'],
    })
    expect(placement).toMatchObject({ device: 'cpu', layers: 0, totalLayers: 25 })
    expect(placement.reason).toMatch(/registered no GPU.*\(ggml_webgpu: Failed to get an adapter: x\)$/)
  })

  test('on the CPU, with the plan reason', () => {
    const placement = placementOf(gpuPlan(available(swiftshader), model))
    expect(placement).toMatchObject({ device: 'cpu', layers: 0, totalLayers: 25 })
    expect(describePlacement(placement)).toBe(
      "CPU: google swiftshader (software) lacks shader-f16, which llama.cpp's WebGPU backend needs",
    )
  })

  test('on the CPU after WebGPU failed at load', () => {
    const placement = placementOf(gpuPlan(available(nvidia), model), { failure: 'device lost' })
    expect(placement).toMatchObject({ device: 'cpu', layers: 0, adapter: 'nvidia hopper' })
    expect(describePlacement(placement)).toBe('CPU: WebGPU failed at load, so the CPU runs it: device lost')
  })
})

/**
 * A WebGPU self-test: multiplies two small matrices in a WGSL compute shader and compares with the CPU. It proves
 * the adapter really runs compute work (the Models view offers it; the browser suite runs it on SwiftShader).
 */
import { WebGpuUnavailableError } from '../../core/errors/index.ts'

export type GpuSmokeResult = { ok: boolean; size: number; maxError: number; ms: number }

const SHADER = /* wgsl */ `
struct Dims { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = dims.n;
  if (id.x >= n || id.y >= n) { return; }
  var sum = 0.0;
  for (var k = 0u; k < n; k = k + 1u) {
    sum = sum + a[id.y * n + k] * b[k * n + id.x];
  }
  c[id.y * n + id.x] = sum;
}`

export async function runGpuSmokeTest(gpu: GPU | undefined, size = 64): Promise<GpuSmokeResult> {
  if (!gpu) throw new WebGpuUnavailableError({ reason: 'no-api' })
  const adapter = await gpu.requestAdapter()
  if (!adapter) throw new WebGpuUnavailableError({ reason: 'no-adapter' })
  const device = await adapter.requestDevice()
  try {
    const started = performance.now()
    const count = size * size
    const a = Float32Array.from({ length: count }, (_, i) => ((i * 7) % 13) / 13 - 0.5)
    const b = Float32Array.from({ length: count }, (_, i) => ((i * 5) % 11) / 11 - 0.5)
    const buffer = (data: Float32Array | Uint32Array, usage: number) => {
      const gpuBuffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage, mappedAtCreation: true })
      new (data.constructor as typeof Float32Array)(gpuBuffer.getMappedRange()).set(data)
      gpuBuffer.unmap()
      return gpuBuffer
    }
    const aBuffer = buffer(a, GPUBufferUsage.STORAGE)
    const bBuffer = buffer(b, GPUBufferUsage.STORAGE)
    const dims = buffer(new Uint32Array([size, 0, 0, 0]), GPUBufferUsage.UNIFORM)
    const cBuffer = device.createBuffer({ size: count * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC })
    const readBuffer = device.createBuffer({
      size: count * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    })
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' },
    })
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [aBuffer, bBuffer, cBuffer, dims].map((resource, binding) => ({
        binding,
        resource: { buffer: resource },
      })),
    })
    const encoder = device.createCommandEncoder()
    const pass = encoder.beginComputePass()
    pass.setPipeline(pipeline)
    pass.setBindGroup(0, bindGroup)
    pass.dispatchWorkgroups(Math.ceil(size / 8), Math.ceil(size / 8))
    pass.end()
    encoder.copyBufferToBuffer(cBuffer, 0, readBuffer, 0, count * 4)
    device.queue.submit([encoder.finish()])
    await readBuffer.mapAsync(GPUMapMode.READ)
    const c = new Float32Array(readBuffer.getMappedRange().slice(0))
    readBuffer.unmap()
    const ms = performance.now() - started
    let maxError = 0
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        let expected = 0
        for (let k = 0; k < size; k++) expected += (a[row * size + k] as number) * (b[k * size + col] as number)
        maxError = Math.max(maxError, Math.abs(expected - (c[row * size + col] as number)))
      }
    }
    return { ok: maxError < 1e-3, size, maxError, ms }
  } finally {
    device.destroy()
  }
}

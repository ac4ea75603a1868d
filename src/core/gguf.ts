/**
 * GGUF, llama.cpp's model file format (version 3): a writer, used to generate the demo models, and a bounded
 * reader of the header (metadata and tensor table), used to validate model files and read their facts (context
 * length, special tokens) before an engine gets them. Tensor `ne` is listed fastest dimension first, i.e. reversed
 * against PyTorch's shape: a [rows, cols] matrix has ne = [cols, rows].
 */
import { InvalidModelFileError } from './errors/engine.ts'

export const GGUF_MAGIC = 0x46554747 // "GGUF" little-endian
export const GGUF_VERSION = 3
export const GGUF_DEFAULT_ALIGNMENT = 32

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The ggml tensor types we write and size-check. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q8_0 = 8,
}

const Q8_0_BLOCK = 32
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK
const Q4_0_BLOCK = 32
const Q4_0_BLOCK_BYTES = 2 + Q4_0_BLOCK / 2

export type GgufScalar = {
  type: Exclude<GgufValueType, GgufValueType.ARRAY>
  value: number | bigint | boolean | string
}
export type GgufArray = {
  type: GgufValueType.ARRAY
  itemType: Exclude<GgufValueType, GgufValueType.ARRAY>
  value: readonly (number | bigint | boolean | string)[]
}
export type GgufValue = GgufScalar | GgufArray

export const gguf = {
  u32: (value: number): GgufScalar => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufScalar => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufScalar => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufScalar => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufScalar => ({ type: GgufValueType.STRING, value }),
  strings: (value: readonly string[]): GgufArray => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.STRING,
    value,
  }),
  i32s: (value: readonly number[]): GgufArray => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
  f32s: (value: readonly number[]): GgufArray => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.FLOAT32,
    value,
  }),
}

export type GgufTensor = { name: string; ne: readonly number[]; type: GgmlType; data: Uint8Array }

/** Bytes of a tensor's data for its type and shape. */
export function tensorByteLength(type: GgmlType, ne: readonly number[]): number {
  const count = ne.reduce((a, b) => a * b, 1)
  switch (type) {
    case GgmlType.F32:
      return count * 4
    case GgmlType.F16:
      return count * 2
    case GgmlType.Q8_0:
      if ((ne[0] ?? 0) % Q8_0_BLOCK !== 0)
        throw new RangeError(`Q8_0 rows must be a multiple of ${Q8_0_BLOCK} long, got ${ne[0]}`)
      return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES
    case GgmlType.Q4_0:
      if ((ne[0] ?? 0) % Q4_0_BLOCK !== 0)
        throw new RangeError(`Q4_0 rows must be a multiple of ${Q4_0_BLOCK} long, got ${ne[0]}`)
      return (count / Q4_0_BLOCK) * Q4_0_BLOCK_BYTES
  }
}

const align = (n: number, alignment: number) => Math.ceil(n / alignment) * alignment

export function encodeGguf({
  metadata,
  tensors,
  alignment = GGUF_DEFAULT_ALIGNMENT,
}: {
  metadata: Record<string, GgufValue>
  tensors: readonly GgufTensor[]
  alignment?: number
}): Uint8Array {
  const meta: Record<string, GgufValue> = { 'general.alignment': gguf.u32(alignment), ...metadata }
  const header = new ByteWriter()
  header.u32(GGUF_MAGIC)
  header.u32(GGUF_VERSION)
  header.u64(tensors.length)
  header.u64(Object.keys(meta).length)
  for (const [key, value] of Object.entries(meta)) {
    header.string(key)
    header.u32(value.type)
    if (value.type === GgufValueType.ARRAY) {
      header.u32(value.itemType)
      header.u64(value.value.length)
      for (const item of value.value) header.scalar(value.itemType, item)
    } else header.scalar(value.type, value.value)
  }
  let offset = 0
  const offsets: number[] = []
  for (const tensor of tensors) {
    const expected = tensorByteLength(tensor.type, tensor.ne)
    if (tensor.data.byteLength !== expected)
      throw new RangeError(`tensor ${tensor.name}: ${tensor.data.byteLength} bytes, expected ${expected}`)
    header.string(tensor.name)
    header.u32(tensor.ne.length)
    for (const n of tensor.ne) header.u64(n)
    header.u32(tensor.type)
    header.u64(offset)
    offsets.push(offset)
    offset = align(offset + expected, alignment)
  }
  const headerBytes = header.bytes()
  const dataStart = align(headerBytes.byteLength, alignment)
  const out = new Uint8Array(dataStart + offset)
  out.set(headerBytes, 0)
  tensors.forEach((tensor, i) => out.set(tensor.data, dataStart + (offsets[i] as number)))
  return out
}

export type GgufTensorInfo = { name: string; ne: number[]; type: number; offset: number }
export type GgufHeader = {
  version: number
  metadata: Record<string, GgufValue>
  tensors: GgufTensorInfo[]
  /** Where tensor data starts in the file. */
  dataOffset: number
}

export type ReadGgufLimits = { maxTensors: number; maxMetadata: number; maxStringBytes: number; maxArrayItems: number }
export const DEFAULT_GGUF_LIMITS: ReadGgufLimits = {
  maxTensors: 65_536,
  maxMetadata: 65_536,
  maxStringBytes: 1 << 20,
  maxArrayItems: 1 << 22,
}

/**
 * Reads the header of a GGUF file from its first bytes. Throws `InvalidModelFileError` on anything malformed,
 * truncated or beyond `limits`; `totalBytes`, when known, is checked against the tensor table.
 */
export function readGgufHeader(
  bytes: Uint8Array,
  { limits = DEFAULT_GGUF_LIMITS, totalBytes }: { limits?: ReadGgufLimits; totalBytes?: number } = {},
): GgufHeader {
  const r = new ByteReader(bytes)
  try {
    if (bytes.byteLength < 24) throw new InvalidModelFileError(`the file is only ${bytes.byteLength} bytes long`)
    const magic = r.u32()
    if (magic !== GGUF_MAGIC)
      throw new InvalidModelFileError(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected "GGUF")`)
    const version = r.u32()
    if (version !== 2 && version !== 3) throw new InvalidModelFileError(`unsupported GGUF version ${version}`)
    const tensorCount = r.count(limits.maxTensors, 'tensors')
    const metadataCount = r.count(limits.maxMetadata, 'metadata entries')
    const metadata: Record<string, GgufValue> = {}
    for (let i = 0; i < metadataCount; i++) {
      const key = r.string(limits.maxStringBytes)
      const type = r.u32()
      if (type === GgufValueType.ARRAY) {
        const itemType = r.u32()
        if (itemType === GgufValueType.ARRAY || !(itemType in GgufValueType))
          throw new InvalidModelFileError(`metadata ${key}: bad array item type ${itemType}`)
        const n = r.count(limits.maxArrayItems, `items in ${key}`)
        const value: (number | bigint | boolean | string)[] = []
        for (let j = 0; j < n; j++) value.push(r.scalar(itemType, limits.maxStringBytes))
        metadata[key] = { type, itemType, value }
      } else {
        if (!(type in GgufValueType)) throw new InvalidModelFileError(`metadata ${key}: unknown value type ${type}`)
        metadata[key] = { type, value: r.scalar(type, limits.maxStringBytes) } as GgufScalar
      }
    }
    const tensors: GgufTensorInfo[] = []
    for (let i = 0; i < tensorCount; i++) {
      const name = r.string(limits.maxStringBytes)
      const dims = r.u32()
      if (dims < 1 || dims > 4) throw new InvalidModelFileError(`tensor ${name}: ${dims} dimensions`)
      const ne: number[] = []
      for (let d = 0; d < dims; d++) ne.push(r.count(Number.MAX_SAFE_INTEGER, `tensor ${name} dimension`))
      tensors.push({ name, ne, type: r.u32(), offset: r.count(Number.MAX_SAFE_INTEGER, `tensor ${name} offset`) })
    }
    const alignmentValue = metadata['general.alignment']
    const alignment =
      alignmentValue && alignmentValue.type === GgufValueType.UINT32
        ? Number(alignmentValue.value)
        : GGUF_DEFAULT_ALIGNMENT
    if (alignment <= 0 || (alignment & (alignment - 1)) !== 0)
      throw new InvalidModelFileError(`alignment ${alignment} is not a power of two`)
    const dataOffset = align(r.position, alignment)
    if (totalBytes !== undefined) {
      for (const t of tensors) {
        if (!(t.type in GgmlType)) continue
        const end = dataOffset + t.offset + tensorByteLength(t.type as GgmlType, t.ne)
        if (end > totalBytes)
          throw new InvalidModelFileError(
            `tensor ${t.name} ends at byte ${end}, past the end of the file (${totalBytes} bytes)`,
          )
      }
    }
    return { version, metadata, tensors, dataOffset }
  } catch (error) {
    if (error instanceof InvalidModelFileError) throw error
    throw new InvalidModelFileError(error instanceof Error ? error.message : String(error), error)
  }
}

/** A metadata value as a plain JS value (arrays as arrays), or undefined. */
export function ggufValue(
  header: GgufHeader,
  key: string,
): number | bigint | boolean | string | readonly (number | bigint | boolean | string)[] | undefined {
  return header.metadata[key]?.value
}

class ByteWriter {
  #chunks: Uint8Array[] = []
  #buffer = new Uint8Array(1 << 16)
  #view = new DataView(this.#buffer.buffer)
  #at = 0
  #encoder = new TextEncoder()

  #ensure(n: number) {
    if (this.#at + n <= this.#buffer.byteLength) return
    this.#chunks.push(this.#buffer.subarray(0, this.#at))
    this.#buffer = new Uint8Array(Math.max(1 << 16, n))
    this.#view = new DataView(this.#buffer.buffer)
    this.#at = 0
  }
  u8(v: number) {
    this.#ensure(1)
    this.#view.setUint8(this.#at, v)
    this.#at += 1
  }
  i8(v: number) {
    this.#ensure(1)
    this.#view.setInt8(this.#at, v)
    this.#at += 1
  }
  u16(v: number) {
    this.#ensure(2)
    this.#view.setUint16(this.#at, v, true)
    this.#at += 2
  }
  i16(v: number) {
    this.#ensure(2)
    this.#view.setInt16(this.#at, v, true)
    this.#at += 2
  }
  u32(v: number) {
    this.#ensure(4)
    this.#view.setUint32(this.#at, v, true)
    this.#at += 4
  }
  i32(v: number) {
    this.#ensure(4)
    this.#view.setInt32(this.#at, v, true)
    this.#at += 4
  }
  f32(v: number) {
    this.#ensure(4)
    this.#view.setFloat32(this.#at, v, true)
    this.#at += 4
  }
  f64(v: number) {
    this.#ensure(8)
    this.#view.setFloat64(this.#at, v, true)
    this.#at += 8
  }
  u64(v: number | bigint) {
    this.#ensure(8)
    this.#view.setBigUint64(this.#at, BigInt(v), true)
    this.#at += 8
  }
  i64(v: number | bigint) {
    this.#ensure(8)
    this.#view.setBigInt64(this.#at, BigInt(v), true)
    this.#at += 8
  }
  string(s: string) {
    const b = this.#encoder.encode(s)
    this.u64(b.byteLength)
    this.#ensure(b.byteLength)
    this.#buffer.set(b, this.#at)
    this.#at += b.byteLength
  }
  scalar(type: GgufValueType, v: number | bigint | boolean | string) {
    switch (type) {
      case GgufValueType.UINT8:
        return this.u8(Number(v))
      case GgufValueType.INT8:
        return this.i8(Number(v))
      case GgufValueType.UINT16:
        return this.u16(Number(v))
      case GgufValueType.INT16:
        return this.i16(Number(v))
      case GgufValueType.UINT32:
        return this.u32(Number(v))
      case GgufValueType.INT32:
        return this.i32(Number(v))
      case GgufValueType.FLOAT32:
        return this.f32(Number(v))
      case GgufValueType.FLOAT64:
        return this.f64(Number(v))
      case GgufValueType.BOOL:
        return this.u8(v ? 1 : 0)
      case GgufValueType.STRING:
        return this.string(String(v))
      case GgufValueType.UINT64:
        return this.u64(typeof v === 'bigint' ? v : BigInt(Number(v)))
      case GgufValueType.INT64:
        return this.i64(typeof v === 'bigint' ? v : BigInt(Number(v)))
      default:
        throw new RangeError(`cannot write value type ${type}`)
    }
  }
  bytes(): Uint8Array {
    const parts = [...this.#chunks, this.#buffer.subarray(0, this.#at)]
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
    let at = 0
    for (const p of parts) {
      out.set(p, at)
      at += p.byteLength
    }
    return out
  }
}

class ByteReader {
  position = 0
  #view: DataView
  #bytes: Uint8Array
  #decoder = new TextDecoder('utf-8', { fatal: true })
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  #need(n: number) {
    if (this.position + n > this.#bytes.byteLength)
      throw new InvalidModelFileError(
        `the header is truncated at byte ${this.position} (needs ${n} more bytes; file or prefix is ${this.#bytes.byteLength} bytes)`,
      )
  }
  u32(): number {
    this.#need(4)
    const v = this.#view.getUint32(this.position, true)
    this.position += 4
    return v
  }
  u64(): bigint {
    this.#need(8)
    const v = this.#view.getBigUint64(this.position, true)
    this.position += 8
    return v
  }
  count(max: number, what: string): number {
    const v = this.u64()
    if (v > BigInt(max)) throw new InvalidModelFileError(`${v} ${what} is more than the limit ${max}`)
    return Number(v)
  }
  string(maxBytes: number): string {
    const n = this.count(maxBytes, 'string bytes')
    this.#need(n)
    const s = this.#decoder.decode(this.#bytes.subarray(this.position, this.position + n))
    this.position += n
    return s
  }
  scalar(type: number, maxStringBytes: number): number | bigint | boolean | string {
    const v = this.#view
    const take = <T>(n: number, read: () => T): T => {
      this.#need(n)
      const value = read()
      this.position += n
      return value
    }
    switch (type) {
      case GgufValueType.UINT8:
        return take(1, () => v.getUint8(this.position))
      case GgufValueType.INT8:
        return take(1, () => v.getInt8(this.position))
      case GgufValueType.UINT16:
        return take(2, () => v.getUint16(this.position, true))
      case GgufValueType.INT16:
        return take(2, () => v.getInt16(this.position, true))
      case GgufValueType.UINT32:
        return take(4, () => v.getUint32(this.position, true))
      case GgufValueType.INT32:
        return take(4, () => v.getInt32(this.position, true))
      case GgufValueType.FLOAT32:
        return take(4, () => v.getFloat32(this.position, true))
      case GgufValueType.FLOAT64:
        return take(8, () => v.getFloat64(this.position, true))
      case GgufValueType.BOOL:
        return take(1, () => v.getUint8(this.position) !== 0)
      case GgufValueType.UINT64:
        return take(8, () => v.getBigUint64(this.position, true))
      case GgufValueType.INT64:
        return take(8, () => v.getBigInt64(this.position, true))
      case GgufValueType.STRING:
        return this.string(maxStringBytes)
      default:
        throw new InvalidModelFileError(`unknown value type ${type}`)
    }
  }
}

/** IEEE 754 half-precision bits of a number (round to nearest even). */
export function toFloat16Bits(value: number): number {
  const f32 = new Float32Array([value])
  const bits = new Uint32Array(f32.buffer)[0] as number
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  let mantissa = bits & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0)
  const e = exponent - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mantissa = (mantissa | 0x800000) >>> (1 - e)
    return sign | ((mantissa + 0x1000) >>> 13)
  }
  const half = sign | (e << 10) | (mantissa >>> 13)
  // Round to nearest even on the dropped 13 bits.
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) return half + 1
  return half
}

export function encodeF32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength))
}

export function encodeF16(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length)
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i] as number)
  return new Uint8Array(out.buffer)
}

/** ggml's Q8_0: blocks of 32 values as an f16 scale and 32 signed bytes. */
/**
 * ggml's Q4_0 (blocks of 32: an f16 scale, then 16 bytes of 4-bit values, low nibbles the first half of the block),
 * quantized as ggml's reference `quantize_row_q4_0` does: the scale maps the value of largest magnitude to -8.
 */
export function encodeQ4_0(values: Float32Array): Uint8Array {
  if (values.length % Q4_0_BLOCK !== 0) throw new RangeError(`Q4_0 needs a multiple of ${Q4_0_BLOCK} values`)
  const blocks = values.length / Q4_0_BLOCK
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES)
  const view = new DataView(out.buffer)
  const half = Q4_0_BLOCK / 2
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_0_BLOCK
    let max = 0
    for (let i = 0; i < Q4_0_BLOCK; i++) {
      const v = values[at + i] as number
      if (Math.abs(v) > Math.abs(max)) max = v
    }
    const scale = max / -8
    const inverse = scale ? 1 / scale : 0
    view.setUint16(b * Q4_0_BLOCK_BYTES, toFloat16Bits(scale), true)
    const q = (v: number) => Math.min(15, Math.trunc(v * inverse + 8.5))
    for (let j = 0; j < half; j++)
      out[b * Q4_0_BLOCK_BYTES + 2 + j] = q(values[at + j] as number) | (q(values[at + half + j] as number) << 4)
  }
  return out
}

export function encodeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new RangeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values`)
  const blocks = values.length / Q8_0_BLOCK
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES)
  const view = new DataView(out.buffer)
  for (let b = 0; b < blocks; b++) {
    let max = 0
    for (let i = 0; i < Q8_0_BLOCK; i++) max = Math.max(max, Math.abs(values[b * Q8_0_BLOCK + i] as number))
    const scale = max / 127
    const inverse = scale ? 1 / scale : 0
    view.setUint16(b * Q8_0_BLOCK_BYTES, toFloat16Bits(scale), true)
    for (let i = 0; i < Q8_0_BLOCK; i++)
      view.setInt8(b * Q8_0_BLOCK_BYTES + 2 + i, Math.round((values[b * Q8_0_BLOCK + i] as number) * inverse))
  }
  return out
}

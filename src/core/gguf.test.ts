import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { InvalidModelFileError } from './errors/index.ts'
import {
  encodeF16,
  encodeGguf,
  encodeQ4_0,
  encodeQ8_0,
  gguf,
  GgmlType,
  ggufValue,
  readGgufHeader,
  tensorByteLength,
  toFloat16Bits,
} from './gguf.ts'

const small = () =>
  encodeGguf({
    metadata: {
      'general.architecture': gguf.str('llama'),
      'llama.context_length': gguf.u32(128),
      eps: gguf.f32(1e-5),
      tokens: gguf.strings(['a', 'b', 'ü']),
    },
    tensors: [
      { name: 'w', ne: [32, 2], type: GgmlType.F32, data: new Uint8Array(32 * 2 * 4) },
      { name: 'q', ne: [32, 1], type: GgmlType.Q8_0, data: encodeQ8_0(new Float32Array(32).fill(0.5)) },
    ],
  })

describe('GGUF', () => {
  test('round-trips metadata and the tensor table, with aligned data', () => {
    const bytes = small()
    const header = readGgufHeader(bytes, { totalBytes: bytes.byteLength })
    expect(header.version).toBe(3)
    expect(ggufValue(header, 'general.architecture')).toBe('llama')
    expect(ggufValue(header, 'llama.context_length')).toBe(128)
    expect(ggufValue(header, 'general.alignment')).toBe(32)
    expect(ggufValue(header, 'eps')).toBeCloseTo(1e-5)
    expect(ggufValue(header, 'tokens')).toEqual(['a', 'b', 'ü'])
    expect(header.tensors.map((t) => [t.name, t.ne, t.type, t.offset])).toEqual([
      ['w', [32, 2], GgmlType.F32, 0],
      ['q', [32, 1], GgmlType.Q8_0, 256],
    ])
    expect(header.dataOffset % 32).toBe(0)
    expect(bytes.byteLength).toBe(header.dataOffset + 256 + 64)
  })

  test.each([
    ['too short', new Uint8Array(10), /only 10 bytes/],
    ['bad magic', new Uint8Array(64).fill(1), /bad magic/],
  ])('rejects %s with InvalidModelFileError', (_, bytes, message) => {
    expect(() => readGgufHeader(bytes)).toThrow(InvalidModelFileError)
    expect(() => readGgufHeader(bytes)).toThrow(message)
  })

  test('rejects a truncated header and tensors past the end of the file', () => {
    const bytes = small()
    expect(() => readGgufHeader(bytes.subarray(0, 60))).toThrow(/truncated/)
    // The last tensor (34 bytes) is followed by 30 bytes of alignment padding.
    expect(() => readGgufHeader(bytes, { totalBytes: bytes.byteLength - 31 })).toThrow(/past the end/)
    expect(readGgufHeader(bytes, { totalBytes: bytes.byteLength - 30 }).tensors).toHaveLength(2)
  })

  test('enforces its limits instead of allocating what a header claims', () => {
    const bytes = small()
    expect(() =>
      readGgufHeader(bytes, { limits: { maxTensors: 1, maxMetadata: 100, maxStringBytes: 1000, maxArrayItems: 100 } }),
    ).toThrow(/limit 1/)
    expect(() =>
      readGgufHeader(bytes, { limits: { maxTensors: 10, maxMetadata: 100, maxStringBytes: 1000, maxArrayItems: 2 } }),
    ).toThrow(/limit 2/)
  })

  test('random and mutated bytes give InvalidModelFileError or a header, never another error', () => {
    const valid = small()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(), fc.nat(255), (random, at, value) => {
        for (const input of [random, Object.assign(valid.slice(), { [at % valid.byteLength]: value })]) {
          try {
            readGgufHeader(input, { totalBytes: input.byteLength })
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidModelFileError)
          }
        }
      }),
      { numRuns: 2_000 },
    )
  })

  test('f16 conversion matches known bit patterns', () => {
    expect(toFloat16Bits(0)).toBe(0)
    expect(toFloat16Bits(1)).toBe(0x3c00)
    expect(toFloat16Bits(-2)).toBe(0xc000)
    expect(toFloat16Bits(65504)).toBe(0x7bff)
    expect(toFloat16Bits(1e6)).toBe(0x7c00)
    expect(toFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00)
    expect(toFloat16Bits(2 ** -24)).toBe(1)
    expect(encodeF16(new Float32Array([1, 0.5])).byteLength).toBe(4)
  })

  test('Q8_0 blocks hold an f16 scale and 32 rounded bytes', () => {
    const values = new Float32Array(32).map((_, i) => (i - 16) / 16)
    const block = encodeQ8_0(values)
    expect(block.byteLength).toBe(34)
    const view = new DataView(block.buffer)
    expect(view.getUint16(0, true)).toBe(toFloat16Bits(1 / 127))
    expect(view.getInt8(2)).toBe(-127)
    expect(view.getInt8(2 + 16)).toBe(0)
    expect(tensorByteLength(GgmlType.Q8_0, [64, 3])).toBe(6 * 34)
    expect(() => tensorByteLength(GgmlType.Q8_0, [33, 1])).toThrow(RangeError)
  })

  test('Q4_0 blocks hold an f16 scale mapping the largest magnitude to -8, and 16 bytes of nibbles', () => {
    const values = new Float32Array(32).map((_, i) => (i - 16) / 16) // largest magnitude: -1 at i = 0
    const block = encodeQ4_0(values)
    expect(block.byteLength).toBe(18)
    const view = new DataView(block.buffer)
    expect(view.getUint16(0, true)).toBe(toFloat16Bits(1 / 8))
    // -1 / (1/8) + 8.5 → 0.5 → 0; value 0 at i = 16 → 8 in the high nibble of byte 0.
    expect(block[2]).toBe(0 | (8 << 4))
    const decoded = Array.from(
      { length: 32 },
      (_, i) => ((i < 16 ? block[2 + i]! & 0x0f : block[2 + i - 16]! >> 4) - 8) * 0.125,
    )
    decoded.forEach((v, i) => expect(Math.abs(v - (values[i] as number))).toBeLessThanOrEqual(0.0625 + 1e-9))
    expect(tensorByteLength(GgmlType.Q4_0, [64, 3])).toBe(6 * 18)
  })
})

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { APP_ICONS, drawIcon } from './app-icons.ts'
import { decodePng, encodePng, PngFormatError, readPngHeader } from './png.ts'

const pixel = (image: { width: number; data: Uint8Array }, x: number, y: number) => [
  ...image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4),
]

describe('app icons', () => {
  test.each(APP_ICONS)('public/$file is what the generator draws ($size px, $kind)', async ({ file, size, kind }) => {
    const committed = await readFile(join(process.cwd(), 'public', file))
    expect(readPngHeader(committed)).toEqual({ width: size, height: size, bitDepth: 8, colorType: 6 })
    // Compared as buffers: a deep equality of a megabyte of pixels takes seconds.
    expect(Buffer.from(decodePng(committed).data).equals(Buffer.from(drawIcon(size, kind).data))).toBe(true)
  })

  test('the plain icon has transparent corners; the maskable one is opaque to its edges', () => {
    const plain = drawIcon(64, 'any')
    const maskable = drawIcon(64, 'maskable')
    expect(pixel(plain, 0, 0)[3]).toBe(0)
    expect(pixel(plain, 32, 2)).toEqual([0x0f, 0x11, 0x15, 255])
    expect(pixel(maskable, 0, 0)).toEqual([0x0f, 0x11, 0x15, 255])
  })

  test('the maskable "M" stays inside the 40 % safe circle; the plain one reaches beyond it', () => {
    const accentOutside = (image: ReturnType<typeof drawIcon>) => {
      let count = 0
      for (let y = 0; y < image.height; y++)
        for (let x = 0; x < image.width; x++) {
          const outside = Math.hypot(x + 0.5 - image.width / 2, y + 0.5 - image.height / 2) > 0.4 * image.width
          if (outside && pixel(image, x, y)[2]! > 0x40) count++
        }
      return count
    }
    expect(accentOutside(drawIcon(128, 'maskable'))).toBe(0)
    expect(accentOutside(drawIcon(128, 'any'))).toBeGreaterThan(0)
  })
})

describe('png codec', () => {
  test('round-trips RGBA pixels', () => {
    const data = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) % 256)
    expect(decodePng(encodePng({ width: 3, height: 2, data }))).toEqual({ width: 3, height: 2, data })
  })

  test('refuses a wrong data length, a bad size and bytes that are not a PNG', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) })).toThrow(PngFormatError)
    expect(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(PngFormatError)
    expect(() =>
      readPngHeader(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/> and more bytes')),
    ).toThrow(PngFormatError)
  })

  test('refuses a truncated image', () => {
    const png = encodePng({ width: 4, height: 4, data: new Uint8Array(64) })
    expect(() => decodePng(png.subarray(0, png.byteLength - 20))).toThrow(PngFormatError)
  })
})

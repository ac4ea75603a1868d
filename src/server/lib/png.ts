/**
 * The smallest PNG codec the app icons need: 8-bit RGBA, one IDAT, no interlace, written and read with node:zlib.
 * `encodePng` makes the committed icons (`app-icons.ts`); `readPngHeader` and `decodePng` let tests check what a
 * server sends and what the generator wrote, without an image library.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib'
import { BaseError } from '../../core/errors/base.ts'

export type RgbaImage = { width: number; height: number; /** width × height × 4 bytes, row by row */ data: Uint8Array }

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const COLOR_RGBA = 6

/** Not a PNG this codec writes or reads (a build-tool error: it never crosses a worker or network boundary). */
export class PngFormatError extends BaseError {
  override name = 'PngFormatError' as const
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(body.byteLength, 0)
  head.write(type, 4, 'ascii')
  const tail = Buffer.alloc(4)
  tail.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0)
  return Buffer.concat([head, body, tail])
}

export function encodePng({ width, height, data }: RgbaImage): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new PngFormatError(`A PNG needs a positive integer size, not ${width}×${height}.`)
  if (data.byteLength !== width * height * 4)
    throw new PngFormatError(`${width}×${height} RGBA needs ${width * height * 4} bytes, not ${data.byteLength}.`)
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8
  header[9] = COLOR_RGBA
  // Each row starts with its filter type: 0 (none) keeps the encoder trivial; deflate does the work.
  const rows = Buffer.alloc(height * (width * 4 + 1))
  for (let y = 0; y < height; y++) rows.set(data.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1)
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', new Uint8Array(0)),
  ])
}

export type PngHeader = { width: number; height: number; bitDepth: number; colorType: number }

/** The size and format from a PNG's IHDR; PngFormatError for anything that is not a PNG. */
export function readPngHeader(bytes: Uint8Array): PngHeader {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buffer.byteLength < 33 || !buffer.subarray(0, 8).equals(SIGNATURE) || buffer.toString('ascii', 12, 16) !== 'IHDR')
    throw new PngFormatError('Not a PNG file (no PNG signature and IHDR chunk).')
  return {
    width: buffer.readUInt32BE(16),
    height: buffer.readUInt32BE(20),
    bitDepth: buffer[24] ?? 0,
    colorType: buffer[25] ?? 0,
  }
}

/** Decodes what `encodePng` writes (8-bit RGBA, filter 0 rows); PngFormatError for anything else. */
export function decodePng(bytes: Uint8Array): RgbaImage {
  const { width, height, bitDepth, colorType } = readPngHeader(bytes)
  if (bitDepth !== 8 || colorType !== COLOR_RGBA)
    throw new PngFormatError(`Only 8-bit RGBA PNGs are read here, not bit depth ${bitDepth} colour type ${colorType}.`)
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const idat: Buffer[] = []
  for (let at = 8; at + 12 <= buffer.byteLength;) {
    const length = buffer.readUInt32BE(at)
    const type = buffer.toString('ascii', at + 4, at + 8)
    if (at + 12 + length > buffer.byteLength)
      throw new PngFormatError(`The ${type} chunk runs past the end of the file.`)
    if (type === 'IDAT') idat.push(buffer.subarray(at + 8, at + 8 + length))
    at += 12 + length
  }
  const rows = inflateSync(Buffer.concat(idat))
  const stride = width * 4 + 1
  if (rows.byteLength !== height * stride)
    throw new PngFormatError(`The image data holds ${rows.byteLength} bytes, not ${height * stride}.`)
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    if (rows[y * stride] !== 0)
      throw new PngFormatError(`Row ${y} uses filter ${rows[y * stride]}; only filter 0 is read here.`)
    data.set(rows.subarray(y * stride + 1, (y + 1) * stride), y * width * 4)
  }
  return { width, height, data }
}

/**
 * Draws the app icons as PNGs from the same shapes as `public/icon.svg` (a dark rounded square with a light-blue
 * "M" stroke), so installing the app needs no image editor and no image library: `npx tsx src/server/lib/app-icons.ts`
 * writes `public/icon-192.png`, `public/icon-512.png` and `public/icon-maskable-512.png`. Shapes are rendered from
 * their signed distances with one pixel of anti-aliasing, so the output is deterministic and a test checks that
 * the committed files are what this draws.
 *
 * The maskable icon fills its whole square with the background and keeps the "M" inside the central circle of
 * 40 % radius that every launcher mask leaves visible (W3C "maskable icon safe zone").
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodePng, type RgbaImage } from './png.ts'

/** The SVG's geometry, in its 64-unit view box. */
const VIEW = 64
const CORNER = 14
const STROKE = 6
const M_PATH: readonly (readonly [number, number])[] = [
  [14, 46],
  [14, 18],
  [32, 34],
  [50, 18],
  [50, 46],
]
const BACKGROUND = [0x0f, 0x11, 0x15] as const
const ACCENT = [0x7d, 0xd3, 0xfc] as const
/** How much the maskable icon shrinks the "M" so its far corners stay inside the 40 % safe circle. */
const MASKABLE_SCALE = 0.8

export type IconKind = 'any' | 'maskable'

export const APP_ICONS: readonly { file: string; size: number; kind: IconKind }[] = [
  { file: 'icon-192.png', size: 192, kind: 'any' },
  { file: 'icon-512.png', size: 512, kind: 'any' },
  { file: 'icon-maskable-512.png', size: 512, kind: 'maskable' },
]

function segmentDistance(
  px: number,
  py: number,
  [ax, ay]: readonly [number, number],
  [bx, by]: readonly [number, number],
): number {
  const dx = bx - ax
  const dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - ax - t * dx, py - ay - t * dy)
}

/** Signed distance to a rounded square filling the view box: negative inside. */
function roundedSquareDistance(x: number, y: number): number {
  const half = VIEW / 2
  const qx = Math.abs(x - half) - (half - CORNER)
  const qy = Math.abs(y - half) - (half - CORNER)
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - CORNER
}

const coverage = (signedDistancePx: number) => Math.max(0, Math.min(1, 0.5 - signedDistancePx))

export function drawIcon(size: number, kind: IconKind): RgbaImage {
  const data = new Uint8Array(size * size * 4)
  const unitsPerPixel = VIEW / size
  const scale = kind === 'maskable' ? MASKABLE_SCALE : 1
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Pixel centres, in view-box units.
      const ux = (x + 0.5) * unitsPerPixel
      const uy = (y + 0.5) * unitsPerPixel
      const background = kind === 'maskable' ? 1 : coverage(roundedSquareDistance(ux, uy) / unitsPerPixel)
      // The "M", scaled about the centre for the maskable icon.
      const mx = VIEW / 2 + (ux - VIEW / 2) / scale
      const my = VIEW / 2 + (uy - VIEW / 2) / scale
      let distance = Infinity
      for (let i = 1; i < M_PATH.length; i++)
        distance = Math.min(distance, segmentDistance(mx, my, M_PATH[i - 1]!, M_PATH[i]!))
      const stroke = Math.min(background, coverage(((distance - STROKE / 2) * scale) / unitsPerPixel))
      const at = (y * size + x) * 4
      for (let c = 0; c < 3; c++) data[at + c] = Math.round(BACKGROUND[c]! + (ACCENT[c]! - BACKGROUND[c]!) * stroke)
      data[at + 3] = Math.round(background * 255)
    }
  }
  return { width: size, height: size, data }
}

/** Writes every icon of `APP_ICONS` into `dir` and returns the paths. */
export async function writeAppIcons(dir: string): Promise<string[]> {
  const written: string[] = []
  for (const icon of APP_ICONS) {
    const path = join(dir, icon.file)
    await writeFile(path, encodePng(drawIcon(icon.size, icon.kind)))
    written.push(path)
  }
  return written
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeAppIcons(join(process.cwd(), 'public')).then(
    (paths) => console.log(`Wrote ${paths.join(', ')}`),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}

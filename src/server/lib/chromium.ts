/**
 * Debian's Chromium for browser tests, benchmarks and the headless demo node, driven by playwright-core.
 * `CHROMIUM_PATH` overrides the binary. Started with the flags this sandboxed machine needs (no background
 * network, no sandbox as root) and a fresh profile each launch. `MODELEX_CHROMIUM_ARGS` (space-separated) adds
 * flags to every launch, e.g. `HARDWARE_GPU_FLAGS` on a machine with a GPU.
 */
import { execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

const DEFAULT_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser']

export const BASE_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Flags for a real GPU in headless Chromium on Linux (NVIDIA with its Vulkan driver): WebGPU on, Dawn on Vulkan,
 * ANGLE on Vulkan, and the GPU blocklist ignored (headless otherwise falls back to SwiftShader). Without a usable
 * driver Chromium still starts and offers SwiftShader, or no adapter; `npm run bench:engine -- --gpu` says which.
 */
export const HARDWARE_GPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--ignore-gpu-blocklist',
] as const

/** Extra flags from `MODELEX_CHROMIUM_ARGS` (split on whitespace). */
export function extraChromiumArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env['MODELEX_CHROMIUM_ARGS'] ?? '').split(/\s+/).filter(Boolean)
}

export function findChromium(): string | null {
  const candidates = process.env['CHROMIUM_PATH'] ? [process.env['CHROMIUM_PATH']] : DEFAULT_PATHS
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // Try the next one.
    }
  }
  return null
}

export const CHROMIUM_HELP =
  "Chromium is needed for the browser tests. Install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary."

/**
 * Returns the Chromium binary, installing Debian's `chromium` with apt-get when it is missing and we run as root.
 * Throws with instructions otherwise.
 */
export function ensureChromium(log: (line: string) => void = console.log): string {
  const found = findChromium()
  if (found) return found
  if (process.env['CHROMIUM_PATH'])
    throw new Error(`CHROMIUM_PATH=${process.env['CHROMIUM_PATH']} is not an executable. ${CHROMIUM_HELP}`)
  if (process.getuid?.() !== 0 || !hasAptGet()) throw new Error(CHROMIUM_HELP)
  log("Chromium is missing: installing Debian's chromium with apt-get (once)…")
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env })
  const installed = findChromium()
  if (!installed) throw new Error(`apt-get finished but no Chromium binary was found. ${CHROMIUM_HELP}`)
  return installed
}

function hasAptGet(): boolean {
  try {
    execFileSync('apt-get', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export type LaunchChromiumParameters = {
  /** Expose WebGPU (SwiftShader where there is no GPU). */
  webgpu?: boolean
  args?: readonly string[]
}

export async function launchChromium({ webgpu = false, args = [] }: LaunchChromiumParameters = {}): Promise<Browser> {
  const executablePath = findChromium()
  if (!executablePath) throw new Error(CHROMIUM_HELP)
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...BASE_FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...args, ...extraChromiumArgs()],
  })
}

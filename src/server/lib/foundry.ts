/**
 * Where the Foundry binaries installed from npm (`@foundry-rs/anvil`, `forge`, `cast`) live. We spawn the native
 * binary itself rather than the package's Node wrapper, so the PID we hold is the process we must stop.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

export type FoundryTool = 'anvil' | 'forge' | 'cast'

const require = createRequire(import.meta.url)

export function foundryBinary(tool: FoundryTool): string {
  const os = process.platform === 'win32' ? 'win32' : process.platform
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/${tool}-${os}-${arch}`
  try {
    return join(
      dirname(require.resolve(`${pkg}/package.json`)),
      'bin',
      process.platform === 'win32' ? `${tool}.exe` : tool,
    )
  } catch (cause) {
    throw new Error(`The ${tool} binary for ${os}-${arch} is not installed (${pkg}). Run npm install.`, { cause })
  }
}

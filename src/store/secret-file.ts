/**
 * Node-only: a small secret in a file of its own (a wallet key, the node signer's key, an operations token), created
 * once with mode 0600, atomically, and read back on every start. A file that others can read is refused rather than
 * used (as ssh refuses such a key): a key that may have leaked must not keep signing.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { SecretFileError } from '../core/errors/operations.ts'

export type SecretFileParameters = {
  /** Makes the secret when the file does not exist; without it a missing file is an error. */
  create?: () => string
  /** Whether the text read back is a valid secret. */
  valid: (text: string) => boolean
}

export async function loadOrCreateSecretFile(path: string, { create, valid }: SecretFileParameters): Promise<string> {
  let text: string | undefined
  try {
    const info = await stat(path)
    if ((info.mode & 0o077) !== 0)
      throw new SecretFileError({ path, reason: 'permissions', details: `mode ${(info.mode & 0o777).toString(8)}` })
    text = (await readFile(path, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  if (text !== undefined) {
    if (!valid(text)) throw new SecretFileError({ path, reason: 'malformed' })
    return text
  }
  if (!create) throw new SecretFileError({ path, reason: 'missing' })
  const secret = create()
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${secret}\n`, { mode: 0o600 })
  await rename(temporary, path)
  return secret
}

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/

/** A 0x private key in `path`, made when the file is missing (unless `create` is false). */
export async function loadOrCreateKeyFile(path: string, { create = true }: { create?: boolean } = {}): Promise<Hex> {
  return (await loadOrCreateSecretFile(path, {
    valid: (t) => PRIVATE_KEY.test(t),
    ...(create ? { create: generatePrivateKey } : {}),
  })) as Hex
}

/** A random bearer token (32 bytes, base64url) in `path`, made when the file is missing. */
export async function loadOrCreateTokenFile(path: string): Promise<string> {
  return loadOrCreateSecretFile(path, {
    valid: (t) => /^[A-Za-z0-9_-]{32,}$/.test(t),
    create: () => randomBytes(32).toString('base64url'),
  })
}

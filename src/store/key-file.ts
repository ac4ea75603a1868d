/**
 * Node-only: the peer key in a file (the relay's and headless nodes' stable identity). Written once with mode
 * 0600, atomically; read back on every start.
 */
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { decodePeerKey } from './peer-key.ts'

export async function loadOrCreatePeerKeyFile(path: string): Promise<PrivateKey> {
  try {
    return decodePeerKey(new Uint8Array(await readFile(path)))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(temporary, path)
  return key
}

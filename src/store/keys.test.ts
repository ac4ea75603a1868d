import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { StoredKeyError } from '../core/errors/p2p.ts'
import { loadOrCreatePeerKeyFile } from './key-file.ts'
import type { KeyValueStore } from './kv.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { loadOrCreatePrivateKey, loadOrCreateSignerKey } from './signer-key.ts'

// Node has no IndexedDB; this map stands in for it (the browser test reloads a real page against real IndexedDB).
const memoryStore = (): KeyValueStore & { map: Map<string, unknown> } => {
  const map = new Map<string, unknown>()
  return { map, get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) }
}

test('the peer key is created once and the same key comes back', async () => {
  const store = memoryStore()
  const first = await loadOrCreatePeerKey(store)
  const second = await loadOrCreatePeerKey(store)
  expect(first.type).toBe('Ed25519')
  expect(second.equals(first)).toBe(true)
})

test('a corrupt stored key is an error, not a new identity', async () => {
  const store = memoryStore()
  store.map.set('peer-key', new Uint8Array([1, 2, 3]))
  await expect(loadOrCreatePeerKey(store)).rejects.toThrow(StoredKeyError)
  store.map.set('node-signer-key', 'nope')
  await expect(loadOrCreateSignerKey(store)).rejects.toThrow(StoredKeyError)
  // A wallet key that may hold funds is never silently replaced either.
  store.map.set('burner-wallet-coder', 42)
  await expect(loadOrCreatePrivateKey(store, 'burner-wallet-coder', 'burner wallet key')).rejects.toThrow(
    StoredKeyError,
  )
  expect(store.map.get('burner-wallet-coder')).toBe(42)
})

test('a wallet key is kept under its own name and comes back the same', async () => {
  const store = memoryStore()
  const key = await loadOrCreatePrivateKey(store, 'session-wallet-coder-31337', 'session key')
  expect(key).toMatch(/^0x[0-9a-f]{64}$/)
  expect(await loadOrCreatePrivateKey(store, 'session-wallet-coder-31337', 'session key')).toBe(key)
  expect(await loadOrCreatePrivateKey(store, 'burner-wallet-coder', 'burner wallet key')).not.toBe(key)
})

test('the signer key is created once', async () => {
  const store = memoryStore()
  const a = await loadOrCreateSignerKey(store)
  expect(a.address).toMatch(/^0x[0-9a-fA-F]{40}$/)
  expect(await loadOrCreateSignerKey(store)).toEqual(a)
})

test('the peer key file keeps the identity across restarts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelex-key-'))
  try {
    const path = join(dir, 'sub', 'relay.key')
    const a = await loadOrCreatePeerKeyFile(path)
    const b = await loadOrCreatePeerKeyFile(path)
    expect(b.equals(a)).toBe(true)
    await writeFile(path, 'garbage')
    await expect(loadOrCreatePeerKeyFile(path)).rejects.toThrow(StoredKeyError)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

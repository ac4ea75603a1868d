import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { SecretFileError } from '../core/errors/operations.ts'
import { loadOrCreateKeyFile, loadOrCreateTokenFile } from './secret-file.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-secret-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

test('a key file is created once with mode 0600 and the same key comes back', async () => {
  const path = join(dir, 'nested', 'operator.key')
  const key = await loadOrCreateKeyFile(path)
  expect(key).toMatch(/^0x[0-9a-f]{64}$/)
  expect((await stat(path)).mode & 0o777).toBe(0o600)
  expect(await loadOrCreateKeyFile(path)).toBe(key)
  const token = await loadOrCreateTokenFile(join(dir, 'ops.token'))
  expect(await loadOrCreateTokenFile(join(dir, 'ops.token'))).toBe(token)
  expect(token.length).toBeGreaterThanOrEqual(32)
})

test('a file others can read, a malformed one and a missing one that must exist are typed errors, left as they are', async () => {
  const path = join(dir, 'k.key')
  const key = await loadOrCreateKeyFile(path)
  await chmod(path, 0o644)
  await expect(loadOrCreateKeyFile(path)).rejects.toMatchObject({ name: 'SecretFileError', reason: 'permissions' })
  await chmod(path, 0o600)
  expect(await loadOrCreateKeyFile(path)).toBe(key)
  await writeFile(path, 'not a key', { mode: 0o600 })
  await expect(loadOrCreateKeyFile(path)).rejects.toMatchObject({ name: 'SecretFileError', reason: 'malformed' })
  expect(await readFile(path, 'utf8')).toBe('not a key')
  await expect(loadOrCreateKeyFile(join(dir, 'absent.key'), { create: false })).rejects.toBeInstanceOf(SecretFileError)
})

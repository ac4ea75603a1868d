import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { StoreFileError } from '../core/errors/p2p.ts'
import { jsonFileStore } from './file-store.ts'
import { storedDocument } from './payments.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelex-file-store-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

test('values survive a new store on the same file; the file is private to its owner', async () => {
  const path = join(dir, 'nested', 'state.json')
  const first = jsonFileStore(path)
  const document = storedDocument(first, 'doc', () => ({ channels: {} as Record<string, { deposit: bigint }> }))
  await Promise.all([first.set('a', 1), document.save({ channels: { x: { deposit: 10n ** 20n } } }), first.set('a', 2)])
  const second = jsonFileStore(path)
  expect(await second.get('a')).toBe(2)
  expect(await storedDocument(second, 'doc', () => ({ channels: {} })).load()).toEqual({
    channels: { x: { deposit: 10n ** 20n } },
  })
  expect(await second.get('missing')).toBeUndefined()
  expect((await stat(path)).mode & 0o777).toBe(0o600)
  expect(JSON.parse(await readFile(path, 'utf8'))).toHaveProperty('a', 2)
})

test('a file that is not a JSON object is refused with a typed error, and left as it is', async () => {
  const path = join(dir, 'state.json')
  for (const text of ['{ not json', '[1, 2]']) {
    await writeFile(path, text)
    await expect(jsonFileStore(path).get('a')).rejects.toBeInstanceOf(StoreFileError)
    expect(await readFile(path, 'utf8')).toBe(text)
  }
})

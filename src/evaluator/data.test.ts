import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { expect, test } from 'vitest'
import { parseProblems } from '../core/eval.ts'
import { fetchProblems, problemsFromGzip } from './data.ts'

const bytes = new Uint8Array(
  readFileSync(new URL('../../data/HumanEval-SingleLineInfilling.jsonl.gz', import.meta.url)),
)

test('the platform gunzip reads the single-line set as node:zlib does, bounded by limit', async () => {
  const expected = parseProblems(gunzipSync(bytes).toString('utf8'), 3)
  expect(await problemsFromGzip(bytes, 3)).toEqual(expected)
  const fetched = await fetchProblems('/data.gz', { limit: 2, fetch: async () => new Response(bytes) })
  expect(fetched).toEqual(expected.slice(0, 2))
  // A server that sent it with Content-Encoding: gzip: the body arrives decompressed.
  expect(await fetchProblems('/data.gz', { limit: 2, fetch: async () => new Response(gunzipSync(bytes)) })).toEqual(
    expected.slice(0, 2),
  )
  await expect(fetchProblems('/missing', { fetch: async () => new Response('no', { status: 404 }) })).rejects.toThrow(
    /404/,
  )
})

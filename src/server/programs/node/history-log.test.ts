import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { openHistoryLog } from './history-log.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mx-history-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

test('records come back after a reopen, amounts exact; a torn or bad line is skipped, not fatal; memory keeps the newest', async () => {
  const path = join(dir, 'history.jsonl')
  const log = await openHistoryLog(path)
  await log.addServed({ at: 1, model: 'm', kind: 'chat', tokensIn: 1, tokensOut: 2, earnings: 2n ** 80n, latencyMs: 5 })
  await log.addUptime({ at: 2, online: true })
  await log.addServed({ at: 3, model: 'm', kind: 'job', tokensIn: 0, tokensOut: 1, earnings: 0n, latencyMs: null })
  expect((await stat(path)).mode & 0o777).toBe(0o600)
  await appendFile(path, '{"at": 4, "model": "m", "kind": "cha\n{"at":-1}\n')
  const again = await openHistoryLog(path, { maxRecords: 1 })
  expect(again.skipped).toBe(2)
  expect(again.served).toEqual([
    { at: 3, model: 'm', kind: 'job', tokensIn: 0, tokensOut: 1, earnings: 0n, latencyMs: null },
  ])
  expect(again.uptime).toEqual([{ at: 2, online: true }])
  const all = await openHistoryLog(path)
  expect(all.served[0]?.earnings).toBe(2n ** 80n)
})

import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { NodeConsoleError } from '../../../core/errors/operations.ts'
import { sendConsoleCommand, startConsoleServer } from './console.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mx-console-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

test('answers its owner with the token, refuses others with typed errors, and keeps a second node off the socket', async () => {
  const path = join(dir, 'console.sock')
  const token = 'x'.repeat(43)
  const seen: string[] = []
  const server = await startConsoleServer(path, token, async (command) => {
    seen.push(command)
    if (command === 'withdraw') throw new Error('NothingToWithdraw')
    return { command }
  })
  try {
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(await sendConsoleCommand(path, token, 'status')).toEqual({ command: 'status' })
    await expect(sendConsoleCommand(path, 'y'.repeat(43), 'drain')).rejects.toMatchObject({
      name: 'NodeConsoleError',
      reason: 'unauthorized',
    })
    await expect(sendConsoleCommand(path, token, 'bogus' as never)).rejects.toMatchObject({
      name: 'NodeConsoleError',
      reason: 'unknown-command',
    })
    const failed = await sendConsoleCommand(path, token, 'withdraw').catch((e: unknown) => e)
    expect(failed).toBeInstanceOf(NodeConsoleError)
    expect((failed as NodeConsoleError).message).toContain('NothingToWithdraw')
    expect(seen).toEqual(['status', 'withdraw'])
    await expect(startConsoleServer(path, token, async () => null)).rejects.toThrow(/another node is running/)
  } finally {
    await server.close()
  }
  await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' })
  await expect(sendConsoleCommand(path, token, 'status')).rejects.toMatchObject({
    name: 'NodeConsoleError',
    reason: 'not-running',
  })
})

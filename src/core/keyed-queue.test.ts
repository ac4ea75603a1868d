import { describe, expect, it } from 'vitest'
import { keyedQueue } from './keyed-queue.ts'

describe('keyedQueue', () => {
  it('runs work for one key in order, after failures too, and other keys alongside', async () => {
    const run = keyedQueue()
    const log: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const a1 = run('a', async () => {
      await gate
      log.push('a1')
      throw new Error('a1 failed')
    })
    const a2 = run('a', async () => {
      log.push('a2')
      return 2
    })
    const b1 = run('b', async () => {
      log.push('b1')
      return 1
    })
    await b1
    expect(log).toEqual(['b1'])
    release()
    await expect(a1).rejects.toThrow('a1 failed')
    expect(await a2).toBe(2)
    expect(log).toEqual(['b1', 'a1', 'a2'])
  })
})

import { expect, test } from 'vitest'
import type { Timers } from './controller.ts'
import type { CompletionSource } from './sources.ts'
import { replayTyping } from './typing-replay.ts'

/** Virtual time that runs itself: whenever nothing else is pending, the clock jumps to the next timer. */
function virtualTime() {
  let now = 0
  let next = 1
  const pending = new Map<number, { at: number; fn: () => void }>()
  const timers: Timers = {
    now: () => now,
    setTimeout: (fn, ms) => (pending.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (handle) => void pending.delete(handle as number),
  }
  async function run<T>(work: Promise<T>): Promise<T> {
    let done = false
    void work.finally(() => (done = true))
    for (let steps = 0; !done && steps < 10_000; steps++) {
      await new Promise((resolve) => setImmediate(resolve))
      const [id, timer] = [...pending].sort((a, b) => a[1].at - b[1].at)[0] ?? []
      if (id === undefined || !timer) continue
      pending.delete(id)
      now = Math.max(now, timer.at)
      timer.fn()
    }
    return work
  }
  return { timers, run }
}

/** A source whose first text comes `firstMs` after the request and whose answer ends 20 ms later. */
function slowSource(timers: Timers, firstMs: number): CompletionSource {
  return {
    id: 'test',
    label: 'virtual',
    complete: ({ signal, onText }) =>
      new Promise((resolve) => {
        let timer = timers.setTimeout(() => {
          onText?.('x')
          timer = timers.setTimeout(() => resolve({ text: 'x', finish_reason: 'stop', usage: null }), 20)
        }, firstMs)
        signal.addEventListener('abort', () => {
          timers.clearTimeout(timer)
          resolve({ text: '', finish_reason: 'abort', usage: null })
        })
      }),
  }
}

const session = {
  name: 'three keys',
  before: 'def f(a):\n    return ',
  after: '',
  keys: [
    { delayMs: 100, text: 'a' },
    { delayMs: 400, text: ' ' },
    { delayMs: 100, text: '+' },
  ],
}

test('a fast source: requests after the debounce, first text timed from the request, shown suggestion from the key', async () => {
  const { timers, run } = virtualTime()
  const result = await run(
    replayTyping(session, {
      source: slowSource(timers, 200),
      timers,
      debounceMs: 150,
      finalPauseMs: 1_000,
      opening: false,
    }),
  )
  // Key 1 at 100 ms: request at 250, text at 450, before key 2 at 500. Key 2's pause (100 ms) is shorter than the
  // debounce: no request. Key 3 at 600: request at 750, text at 950, inside the final pause.
  expect(result.requests.map((r) => [r.firstTextMs, r.cancelledMs])).toEqual([
    [200, null],
    [200, null],
  ])
  expect(result.requests.map((r) => r.sentMs)).toEqual([250, 750])
  expect(result.pauses).toEqual([
    { atMs: 100, waitedMs: 400, shownMs: 350, cached: false },
    { atMs: 500, waitedMs: 100, shownMs: null, cached: false },
    { atMs: 600, waitedMs: 1_000, shownMs: 350, cached: false },
  ])
  expect(result.keys).toBe(3)
})

test('a slow source: the next key cancels the request before its first text, and the wait is recorded as cut off', async () => {
  const { timers, run } = virtualTime()
  const result = await run(
    replayTyping(session, {
      source: slowSource(timers, 2_000),
      timers,
      debounceMs: 150,
      finalPauseMs: 500,
      opening: false,
    }),
  )
  // Key 1's request (at 250) is cancelled by key 2 at 500; key 3's (at 750) by the end of the session at 1,100.
  expect(result.requests.map((r) => [r.firstTextMs, r.cancelledMs])).toEqual([
    [null, 250],
    [null, 350],
  ])
  expect(result.pauses.every((p) => p.shownMs === null)).toBe(true)
})

test('the opening request runs to its end before the first key, and is reported apart', async () => {
  const { timers, run } = virtualTime()
  const result = await run(
    replayTyping(session, { source: slowSource(timers, 2_000), timers, debounceMs: 150, finalPauseMs: 500 }),
  )
  expect(result.opening).toEqual({ firstTextMs: 2_000, endMs: 2_020, error: null })
  // Typing starts after it: the requests' times are from the first key's session start.
  expect(result.requests.map((r) => r.sentMs)).toEqual([250, 750])
})

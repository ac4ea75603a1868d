import { expect, test } from 'vitest'
import type { Suggestion } from '../core/autocomplete.ts'
import { AutocompleteController, type Timers } from './controller.ts'
import type { CompletionSource, CompletionSourceRequest } from './sources.ts'

/** Fake time: timers run when `advance` passes them. */
function fakeTimers(): Timers & { advance(ms: number): void } {
  let now = 0
  const pending = new Map<number, { at: number; fn: () => void }>()
  let next = 1
  return {
    now: () => now,
    setTimeout: (fn, ms) => (pending.set(next, { at: now + ms, fn }), next++),
    clearTimeout: (handle) => void pending.delete(handle as number),
    advance(ms) {
      now += ms
      for (const [id, timer] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at > now) continue
        pending.delete(id)
        timer.fn()
      }
    },
  }
}

/** A source that streams the given pieces when told to, and records what it was asked and whether it was aborted. */
function scriptedSource(pieces: string[]) {
  const calls: { request: CompletionSourceRequest; release: () => Promise<void> }[] = []
  const source: CompletionSource = {
    id: 'test',
    label: 'scripted',
    complete: (request) =>
      new Promise((resolve) => {
        const release = async () => {
          let text = ''
          for (const piece of pieces) {
            if (request.signal.aborted) break
            text += piece
            request.onText?.(text)
          }
          resolve({ text, finish_reason: request.signal.aborted ? 'abort' : 'stop', usage: null })
        }
        calls.push({ request, release })
      }),
  }
  return { source, calls }
}

function recordingView() {
  const log: string[] = []
  let shown: Suggestion | null = null
  return {
    log,
    shown: () => shown,
    view: {
      show: (s: Suggestion) => (
        (shown = s),
        log.push(`show ${JSON.stringify(s.text)}${s.partial ? ' (partial)' : ''}`)
      ),
      hide: () => ((shown = null), log.push('hide')),
      insert: (text: string, at: number) => log.push(`insert ${JSON.stringify(text)} at ${at}`),
      error: (message: string) => log.push(`error ${message}`),
    },
  }
}

const context = (prefix: string, version: number) => ({
  version,
  prefix,
  suffix: '',
  cursor: prefix.length,
  rule: 'line' as const,
})

test('debounced request, streamed and cut by the stop rule, which cancels the source; Tab inserts', async () => {
  const timers = fakeTimers()
  const { source, calls } = scriptedSource(['a', ' + b', '\nnext line', ' more'])
  const ui = recordingView()
  const completed: number[] = []
  const controller = new AutocompleteController({
    view: ui.view,
    source,
    timers,
    debounceMs: 100,
    onCompleted: (c) => completed.push(c.totalMs),
  })
  controller.edit(context('x = ', 1))
  timers.advance(99)
  expect(calls).toHaveLength(0)
  timers.advance(1)
  expect(calls).toHaveLength(1)
  await calls[0]!.release()
  await Promise.resolve()
  expect(calls[0]!.request.signal.aborted).toBe(true)
  expect(ui.shown()).toMatchObject({ text: 'a + b', partial: false })
  expect(completed).toHaveLength(1)
  expect(controller.accept()).toBe(true)
  expect(ui.log.slice(-2)).toEqual(['hide', 'insert "a + b" at 4'])
  expect(controller.accept()).toBe(false)
})

test('typing cancels the request in flight at once', async () => {
  const timers = fakeTimers()
  const { source, calls } = scriptedSource(['late'])
  const ui = recordingView()
  const controller = new AutocompleteController({ view: ui.view, source, timers, debounceMs: 10 })
  controller.edit(context('x = ', 1))
  timers.advance(10)
  controller.edit(context('x = 1', 2))
  expect(calls[0]!.request.signal.aborted).toBe(true)
  await calls[0]!.release()
  expect(ui.shown()).toBeNull()
})

test('without a source, the user is told how to get one', () => {
  const timers = fakeTimers()
  const ui = recordingView()
  const controller = new AutocompleteController({ view: ui.view, timers, debounceMs: 0 })
  controller.edit(context('x = ', 1))
  timers.advance(0)
  expect(ui.log).toEqual(['error No completion source: load a coder model in this tab, or choose a network node.'])
})

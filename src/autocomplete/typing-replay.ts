/**
 * Replays a typing session (`core/typing.ts`) through the editor's real autocomplete controller, in real time:
 * each keystroke edits the document at the cursor and goes to the controller as the CodeMirror extension sends it
 * (debounce, cancel on edit, stop rules, completion cache), against any `CompletionSource` — the engine in this tab
 * or a paid network node. It records every request the controller sent (when, first text, end, cancelled or not)
 * and every pause of the user (how long it lasted, when a suggestion was first shown in it). Runs in the browser and
 * in Node (only timers and `performance.now`).
 */
import type { Suggestion } from '../core/autocomplete.ts'
import { chooseStopRule } from '../core/stop-rules.ts'
import type { TypingSession } from '../core/typing.ts'
import { AutocompleteController, browserTimers, type Timers } from './controller.ts'
import type { CompletionSource } from './sources.ts'

/**
 * One request as the controller sent it: `sentMs` from the session's start, the others from the request.
 * `firstTextMs`: first non-empty raw text.
 */
export type ReplayedRequest = {
  sentMs: number
  promptChars: number
  firstTextMs: number | null
  endMs: number
  cancelledMs: number | null
  text: string
  error: string | null
}

/** One wait after a keystroke (`atMs` from the session's start): how long the user waited, when a suggestion showed. */
export type ReplayedPause = { atMs: number; waitedMs: number; shownMs: number | null; cached: boolean }

/**
 * `opening`: the request at the cursor before the first key (the user placed the cursor and waited for it), run to
 * its end: the file's cold start. Null when the replay was told not to make it.
 */
export type ReplayResult = {
  session: string
  keys: number
  opening: { firstTextMs: number | null; endMs: number; error: string | null } | null
  requests: ReplayedRequest[]
  pauses: ReplayedPause[]
  durationMs: number
}

export type ReplayOptions = {
  source: CompletionSource
  /** The controller's debounce; default the editor's. */
  debounceMs?: number
  maxTokens?: number
  /** How long the user waits after the last key for the suggestion (then it is cancelled). */
  finalPauseMs?: number
  /**
   * Before typing, one request at the cursor run to its end, as when the user places the cursor in a file and reads
   * it for a moment (default true): an engine that reuses its cache starts typing warm, one that does not gains
   * nothing from it. Its time is the cold start, reported apart from the typing.
   */
  opening?: boolean
  timers?: Timers
}

export async function replayTyping(
  session: TypingSession,
  { source, debounceMs, maxTokens, finalPauseMs = 3_000, opening = true, timers = browserTimers() }: ReplayOptions,
): Promise<ReplayResult> {
  let openingResult: ReplayResult['opening'] = null
  if (opening) {
    const started = timers.now()
    let firstTextMs: number | null = null
    let error: string | null = null
    try {
      await source.complete({
        prefix: session.before,
        suffix: session.after,
        maxTokens: 1,
        signal: new AbortController().signal,
        onText: (text) => (firstTextMs ??= text ? timers.now() - started : null),
      })
    } catch (cause) {
      error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
    }
    openingResult = { firstTextMs, endMs: timers.now() - started, error }
  }
  const startedAt = timers.now()
  const requests: ReplayedRequest[] = []
  const settled: Promise<unknown>[] = []
  const instrumented: CompletionSource = {
    id: source.id,
    label: source.label,
    complete(request) {
      const started = timers.now()
      const record: ReplayedRequest = {
        sentMs: started - startedAt,
        promptChars: request.prefix.length + request.suffix.length,
        firstTextMs: null,
        endMs: 0,
        cancelledMs: null,
        text: '',
        error: null,
      }
      requests.push(record)
      request.signal.addEventListener('abort', () => (record.cancelledMs ??= timers.now() - started), { once: true })
      const running = source.complete({
        ...request,
        onText: (text) => {
          if (record.firstTextMs === null && text !== '') record.firstTextMs = timers.now() - started
          request.onText?.(text)
        },
      })
      const done = running.then(
        (result) => {
          record.endMs = timers.now() - started
          record.text = result.text
        },
        (error: unknown) => {
          record.endMs = timers.now() - started
          record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
        },
      )
      settled.push(done)
      return running
    },
  }

  let pause: { started: number; shownMs: number | null; cached: boolean } | null = null
  const view = {
    show(suggestion: Suggestion) {
      if (pause && pause.shownMs === null && suggestion.text !== '') {
        pause.shownMs = timers.now() - pause.started
        pause.cached = suggestion.cached
      }
    },
    hide() {},
    insert() {},
    error() {},
  }
  const controller = new AutocompleteController({
    view,
    source: instrumented,
    timers,
    ...(debounceMs !== undefined ? { debounceMs } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  })
  const pauses: ReplayedPause[] = []
  const sleep = (ms: number) => new Promise<void>((resolve) => timers.setTimeout(resolve, ms))
  let typed = ''
  let version = 0
  for (const key of session.keys) {
    if (pause) {
      // The wait is measured, not assumed: a busy page runs timers late, and the user's next key came when it came.
      await sleep(key.delayMs)
      pauses.push({
        atMs: pause.started - startedAt,
        waitedMs: timers.now() - pause.started,
        shownMs: pause.shownMs,
        cached: pause.cached,
      })
    } else await sleep(key.delayMs)
    typed += key.text
    const prefix = session.before + typed
    const suffix = session.after
    pause = { started: timers.now(), shownMs: null, cached: false }
    controller.edit({ version: ++version, prefix, suffix, cursor: prefix.length, rule: chooseStopRule(prefix, suffix) })
  }
  await sleep(finalPauseMs)
  if (pause)
    pauses.push({
      atMs: pause.started - startedAt,
      waitedMs: timers.now() - pause.started,
      shownMs: pause.shownMs,
      cached: pause.cached,
    })
  const durationMs = timers.now() - startedAt
  controller.destroy()
  // Nothing of this session may run into the next one: wait for every request to have ended.
  await Promise.all(settled)
  return { session: session.name, keys: session.keys.length, opening: openingResult, requests, pauses, durationMs }
}

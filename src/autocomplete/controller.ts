/**
 * Carries out the suggestion state machine's effects (`src/core/autocomplete.ts`): timers for the debounce,
 * requests to the current `CompletionSource` with an AbortController each, the stop rules applied to the stream
 * (the request is cancelled as soon as the rule has found the end), and the view's show/hide/insert. The clock and
 * timers are injectable, so it runs in Node tests with fake time.
 */
import {
  AutocompleteMachine,
  type AutocompleteEffect,
  type CursorContext,
  type Suggestion,
} from '../core/autocomplete.ts'
import { CompletionCache } from '../core/completion-cache.ts'
import { NoCompletionSourceError } from '../core/errors/autocomplete.ts'
import { applyStopRule } from '../core/stop-rules.ts'
import type { CompletionSource } from './sources.ts'

export type AutocompleteView = {
  show(suggestion: Suggestion): void
  hide(): void
  insert(text: string, at: number): void
  error(message: string): void
}

export type Timers = {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const browserTimers = (): Timers => ({
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
})

export type AutocompleteControllerOptions = {
  view: AutocompleteView
  source?: CompletionSource | null
  debounceMs?: number
  /** Tokens asked for: enough for a block; the stop rules usually cut far earlier. */
  maxTokens?: number
  timers?: Timers
  cache?: CompletionCache
  /** Called with each finished request (for latency figures). */
  onCompleted?: (completion: CompletedRequest) => void
}

export type CompletedRequest = {
  text: string
  firstTokenMs: number
  totalMs: number
  cancelledByRule: boolean
  source: string
}

export const CONTROLLER_DEFAULTS = { maxTokens: 64 } as const

export class AutocompleteController {
  readonly machine: AutocompleteMachine
  #view: AutocompleteView
  #source: CompletionSource | null
  #timers: Timers
  #maxTokens: number
  #onCompleted: ((completion: CompletedRequest) => void) | undefined
  #pendingTimers = new Map<number, unknown>()
  #inFlight = new Map<number, AbortController>()

  constructor({
    view,
    source = null,
    debounceMs,
    maxTokens = CONTROLLER_DEFAULTS.maxTokens,
    timers = browserTimers(),
    cache = new CompletionCache(),
    onCompleted,
  }: AutocompleteControllerOptions) {
    this.#view = view
    this.#source = source
    this.#timers = timers
    this.#maxTokens = maxTokens
    this.#onCompleted = onCompleted
    this.machine = new AutocompleteMachine({
      model: source?.id ?? '',
      cache,
      ...(debounceMs !== undefined ? { debounceMs } : {}),
    })
  }

  get source(): CompletionSource | null {
    return this.#source
  }

  setSource(source: CompletionSource | null): void {
    this.#source = source
    this.#run(this.machine.setModel(source?.id ?? ''))
  }

  edit(context: CursorContext): void {
    this.#run(this.machine.dispatch({ type: 'edit', context }))
  }

  /** Tab: true when a suggestion was taken (so the editor does not also indent). */
  accept(): boolean {
    const effects = this.machine.dispatch({ type: 'accept' })
    this.#run(effects)
    return effects.some((e) => e.type === 'insert')
  }

  /** Esc: true when something was hidden or cancelled. */
  dismiss(): boolean {
    const effects = this.machine.dispatch({ type: 'dismiss' })
    this.#run(effects)
    return effects.length > 0
  }

  destroy(): void {
    this.dismiss()
    for (const handle of this.#pendingTimers.values()) this.#timers.clearTimeout(handle)
    for (const controller of this.#inFlight.values()) controller.abort()
  }

  #run(effects: AutocompleteEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'schedule':
          this.#pendingTimers.set(
            effect.token,
            this.#timers.setTimeout(() => {
              this.#pendingTimers.delete(effect.token)
              this.#run(this.machine.dispatch({ type: 'timer', token: effect.token }))
            }, effect.delayMs),
          )
          break
        case 'clear-timer':
          this.#timers.clearTimeout(this.#pendingTimers.get(effect.token))
          this.#pendingTimers.delete(effect.token)
          break
        case 'request':
          this.#request(effect.id, effect.context)
          break
        case 'cancel':
          this.#inFlight.get(effect.id)?.abort()
          this.#inFlight.delete(effect.id)
          break
        case 'show':
          this.#view.show(effect.suggestion)
          break
        case 'hide':
          this.#view.hide()
          break
        case 'insert':
          this.#view.insert(effect.text, effect.at)
          break
        case 'error':
          this.#view.error(effect.message)
          break
      }
    }
  }

  #request(id: number, context: CursorContext): void {
    const source = this.#source
    if (!source) {
      this.#run(this.machine.dispatch({ type: 'failure', id, message: new NoCompletionSourceError().shortMessage }))
      return
    }
    const controller = new AbortController()
    this.#inFlight.set(id, controller)
    const started = this.#timers.now()
    let firstTokenMs = 0
    let cancelledByRule = false
    const rule = { rule: context.rule, prefix: context.prefix, suffix: context.suffix }
    const onText = (raw: string) => {
      if (firstTokenMs === 0 && raw !== '') firstTokenMs = this.#timers.now() - started
      const decision = applyStopRule(raw, rule)
      if (decision.done && !controller.signal.aborted) {
        // The rule has the whole suggestion: stop the model instead of letting it write what will be cut.
        cancelledByRule = true
        controller.abort()
      }
      this.#run(this.machine.dispatch({ type: 'partial', id, text: decision.text, firstTokenMs }))
    }
    source
      .complete({
        prefix: context.prefix,
        suffix: context.suffix,
        maxTokens: this.#maxTokens,
        signal: controller.signal,
        onText,
      })
      .then(
        (result) => {
          this.#inFlight.delete(id)
          const totalMs = this.#timers.now() - started
          const text = applyStopRule(result.text, rule, true).text
          if (!controller.signal.aborted || cancelledByRule)
            this.#onCompleted?.({ text, firstTokenMs, totalMs, cancelledByRule, source: source.id })
          this.#run(this.machine.dispatch({ type: 'result', id, text, firstTokenMs, totalMs }))
        },
        (error: unknown) => {
          this.#inFlight.delete(id)
          this.#run(
            this.machine.dispatch({
              type: 'failure',
              id,
              message:
                error instanceof Error
                  ? ('shortMessage' in error ? (error.shortMessage as string) : '') || error.message
                  : String(error),
            }),
          )
        },
      )
  }
}

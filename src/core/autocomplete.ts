/**
 * The inline-suggestion state machine of the code editor, as a pure reducer: events in (the user edited or moved,
 * the debounce timer fired, a completion streamed, ended or failed, Tab, Esc), effects out (start or cancel a timer,
 * send or cancel a request, show or hide ghost text, insert text). It owns no timers and does no I/O — the
 * adapter in `src/autocomplete/controller.ts` carries out the effects — so every race (a late answer to a stale
 * request, typing during a stream, Tab mid-stream) is a unit test.
 *
 * Rules: an edit cancels the request in flight at once and hides the suggestion; a request goes out only after
 * `debounceMs` without edits; a recent suggestion for the same spot comes from the cache without a request;
 * answers to anything but the latest request are dropped; Esc hides the suggestion until the next edit.
 */
import { CompletionCache } from './completion-cache.ts'
import type { StopRule } from './stop-rules.ts'

/** What the model needs to know about the cursor's spot. `version` grows with every edit or move. */
export type CursorContext = { version: number; prefix: string; suffix: string; cursor: number; rule: StopRule }

export type Suggestion = {
  text: string
  /** Document offset where it would be inserted. */
  at: number
  /** Still streaming. */
  partial: boolean
  cached: boolean
  /** Milliseconds from the request to the first streamed text, and to the end (0 for cached ones). */
  firstTokenMs: number
  totalMs: number
}

export type AutocompleteEvent =
  | { type: 'edit'; context: CursorContext }
  | { type: 'timer'; token: number }
  | { type: 'partial'; id: number; text: string; firstTokenMs: number }
  | { type: 'result'; id: number; text: string; firstTokenMs: number; totalMs: number }
  | { type: 'failure'; id: number; message: string }
  | { type: 'accept' }
  | { type: 'dismiss' }

export type AutocompleteEffect =
  | { type: 'schedule'; token: number; delayMs: number }
  | { type: 'clear-timer'; token: number }
  | { type: 'request'; id: number; context: CursorContext }
  | { type: 'cancel'; id: number }
  | { type: 'show'; suggestion: Suggestion }
  | { type: 'hide' }
  | { type: 'insert'; text: string; at: number }
  | { type: 'error'; message: string }

export type AutocompleteState =
  | { phase: 'idle' }
  | { phase: 'waiting'; token: number; context: CursorContext }
  | { phase: 'requesting'; id: number; context: CursorContext; partial: string | null }
  | { phase: 'showing'; context: CursorContext; suggestion: Suggestion }

export type AutocompleteOptions = {
  /** Quiet time after the last edit before a request goes out. */
  debounceMs?: number
  /** Identifies the model in cache keys; change it with `setModel` when the source changes. */
  model?: string
  cache?: CompletionCache
}

export const AUTOCOMPLETE_DEFAULTS = { debounceMs: 150 } as const

/**
 * Whether a suggestion makes sense here: only when the rest of the line after the cursor is empty or closing
 * brackets and quotes (in the middle of a word, the user is editing, not writing).
 */
export function shouldSuggestAt({ prefix, suffix }: Pick<CursorContext, 'prefix' | 'suffix'>): boolean {
  const newline = suffix.indexOf('\n')
  const restOfLine = newline === -1 ? suffix : suffix.slice(0, newline)
  if (!/^[\s)\]}'"`;,:]*$/.test(restOfLine)) return false
  // Right after a space that follows nothing on the line, as after Enter, suggesting is fine; an empty document is not.
  return prefix.trim() !== '' || suffix.trim() !== ''
}

export class AutocompleteMachine {
  #state: AutocompleteState = { phase: 'idle' }
  #nextToken = 1
  #nextId = 1
  #debounceMs: number
  #model: string
  readonly cache: CompletionCache

  constructor({
    debounceMs = AUTOCOMPLETE_DEFAULTS.debounceMs,
    model = '',
    cache = new CompletionCache(),
  }: AutocompleteOptions = {}) {
    this.#debounceMs = debounceMs
    this.#model = model
    this.cache = cache
  }

  get state(): AutocompleteState {
    return this.#state
  }

  get model(): string {
    return this.#model
  }

  /** A new source or model: what is in flight belongs to the old one. */
  setModel(model: string): AutocompleteEffect[] {
    this.#model = model
    return this.#reset()
  }

  dispatch(event: AutocompleteEvent): AutocompleteEffect[] {
    switch (event.type) {
      case 'edit':
        return this.#edit(event.context)
      case 'timer':
        return this.#timer(event.token)
      case 'partial':
        return this.#partial(event.id, event.text, event.firstTokenMs)
      case 'result':
        return this.#result(event.id, event.text, event.firstTokenMs, event.totalMs)
      case 'failure':
        return this.#failure(event.id, event.message)
      case 'accept':
        return this.#accept()
      case 'dismiss':
        return this.#reset()
    }
  }

  #edit(context: CursorContext): AutocompleteEffect[] {
    const effects = this.#reset()
    if (!shouldSuggestAt(context)) return effects
    const cached = this.cache.get(this.#key(context))
    if (cached !== undefined) {
      if (cached === '') return effects
      const suggestion: Suggestion = {
        text: cached,
        at: context.cursor,
        partial: false,
        cached: true,
        firstTokenMs: 0,
        totalMs: 0,
      }
      this.#state = { phase: 'showing', context, suggestion }
      return [...effects, { type: 'show', suggestion }]
    }
    const token = this.#nextToken++
    this.#state = { phase: 'waiting', token, context }
    return [...effects, { type: 'schedule', token, delayMs: this.#debounceMs }]
  }

  #timer(token: number): AutocompleteEffect[] {
    const state = this.#state
    if (state.phase !== 'waiting' || state.token !== token) return []
    const id = this.#nextId++
    this.#state = { phase: 'requesting', id, context: state.context, partial: null }
    return [{ type: 'request', id, context: state.context }]
  }

  #partial(id: number, text: string, firstTokenMs: number): AutocompleteEffect[] {
    const state = this.#state
    if (state.phase !== 'requesting' || state.id !== id || text === '' || text === state.partial) return []
    state.partial = text
    return [
      {
        type: 'show',
        suggestion: { text, at: state.context.cursor, partial: true, cached: false, firstTokenMs, totalMs: 0 },
      },
    ]
  }

  #result(id: number, text: string, firstTokenMs: number, totalMs: number): AutocompleteEffect[] {
    const state = this.#state
    if (state.phase !== 'requesting' || state.id !== id) return []
    this.cache.set(this.#key(state.context), text)
    if (text === '') {
      this.#state = { phase: 'idle' }
      return state.partial ? [{ type: 'hide' }] : []
    }
    const suggestion: Suggestion = {
      text,
      at: state.context.cursor,
      partial: false,
      cached: false,
      firstTokenMs,
      totalMs,
    }
    this.#state = { phase: 'showing', context: state.context, suggestion }
    return [{ type: 'show', suggestion }]
  }

  #failure(id: number, message: string): AutocompleteEffect[] {
    const state = this.#state
    if (state.phase !== 'requesting' || state.id !== id) return []
    this.#state = { phase: 'idle' }
    return [...(state.partial ? [{ type: 'hide' } as const] : []), { type: 'error', message }]
  }

  #accept(): AutocompleteEffect[] {
    const state = this.#state
    if (state.phase === 'showing') {
      this.#state = { phase: 'idle' }
      return [{ type: 'hide' }, { type: 'insert', text: state.suggestion.text, at: state.suggestion.at }]
    }
    if (state.phase === 'requesting' && state.partial) {
      // Tab while it streams takes what has arrived and stops the rest.
      this.#state = { phase: 'idle' }
      return [
        { type: 'cancel', id: state.id },
        { type: 'hide' },
        { type: 'insert', text: state.partial, at: state.context.cursor },
      ]
    }
    return []
  }

  /** Back to idle, cancelling whatever was pending. */
  #reset(): AutocompleteEffect[] {
    const state = this.#state
    this.#state = { phase: 'idle' }
    switch (state.phase) {
      case 'idle':
        return []
      case 'waiting':
        return [{ type: 'clear-timer', token: state.token }]
      case 'requesting':
        return [{ type: 'cancel', id: state.id }, ...(state.partial ? [{ type: 'hide' } as const] : [])]
      case 'showing':
        return [{ type: 'hide' }]
    }
  }

  #key(context: CursorContext) {
    return { model: this.#model, rule: context.rule, prefix: context.prefix, suffix: context.suffix }
  }
}

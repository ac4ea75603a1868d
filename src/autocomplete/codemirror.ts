/**
 * Inline completion for CodeMirror 6: ghost text after the cursor with its latency, Tab to accept, Esc to dismiss.
 * Every edit or cursor move goes to the `AutocompleteController` (debounce, cancel, cache, stop rules); its
 * decisions come back as a state effect that draws or clears the ghost text. The stop rule per spot is chosen by
 * `chooseStopRule` unless fixed.
 */
import { Prec, StateEffect, StateField, type Extension } from '@codemirror/state'
import {
  Decoration,
  EditorView,
  keymap,
  ViewPlugin,
  WidgetType,
  type DecorationSet,
  type ViewUpdate,
} from '@codemirror/view'
import type { Suggestion } from '../core/autocomplete.ts'
import { chooseStopRule, type StopRule } from '../core/stop-rules.ts'
import { AutocompleteController, type AutocompleteControllerOptions } from './controller.ts'

type Ghost = { text: string; at: number; label: string }

const setGhost = StateEffect.define<Ghost | null>()

/** How a suggestion's timing reads next to it. */
export function latencyLabel(suggestion: Suggestion): string {
  if (suggestion.cached) return 'cached'
  if (suggestion.partial) return `${Math.round(suggestion.firstTokenMs)} ms…`
  return `${Math.round(suggestion.totalMs)} ms`
}

class GhostWidget extends WidgetType {
  constructor(
    readonly text: string,
    readonly label: string,
  ) {
    super()
  }
  override eq(other: GhostWidget): boolean {
    return other.text === this.text && other.label === this.label
  }
  toDOM(): HTMLElement {
    const wrap = document.createElement('span')
    wrap.className = 'cm-ghost'
    const text = document.createElement('span')
    text.className = 'cm-ghost-text'
    text.textContent = this.text
    const label = document.createElement('span')
    label.className = 'cm-ghost-latency'
    label.textContent = this.label
    wrap.append(text, label)
    return wrap
  }
  override ignoreEvent(): boolean {
    return true
  }
}

const ghostField = StateField.define<{ ghost: Ghost | null; decorations: DecorationSet }>({
  create: () => ({ ghost: null, decorations: Decoration.none }),
  update(value, transaction) {
    let ghost = value.ghost
    for (const effect of transaction.effects) if (effect.is(setGhost)) ghost = effect.value
    // An edit without a new ghost moves the old one away: drop it rather than draw it in the wrong place.
    if (transaction.docChanged && !transaction.effects.some((e) => e.is(setGhost))) ghost = null
    if (ghost === value.ghost) return value
    if (!ghost || ghost.at > transaction.state.doc.length) return { ghost: null, decorations: Decoration.none }
    return {
      ghost,
      decorations: Decoration.set([
        Decoration.widget({ widget: new GhostWidget(ghost.text, ghost.label), side: 1 }).range(ghost.at),
      ]),
    }
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.decorations),
})

const ghostTheme = EditorView.baseTheme({
  '.cm-ghost-text': { opacity: '0.45', fontStyle: 'italic', whiteSpace: 'pre' },
  '.cm-ghost-latency': {
    marginLeft: '0.75em',
    fontSize: '0.75em',
    opacity: '0.55',
    padding: '0 0.3em',
    borderRadius: '3px',
    border: '1px solid currentColor',
  },
})

export type InlineCompletionOptions = Omit<AutocompleteControllerOptions, 'view'> & {
  /** Fixed rule, or chosen per spot. */
  rule?: StopRule | 'auto'
  onError?: (message: string) => void
  onSuggestion?: (suggestion: Suggestion | null) => void
}

/** The extension and the controller behind it (to switch sources, read the cache, or tear down). */
export function inlineCompletion({ rule = 'auto', onError, onSuggestion, ...options }: InlineCompletionOptions = {}): {
  extension: Extension
  controller: AutocompleteController
} {
  let view: EditorView | null = null
  let version = 0
  // Updates may not dispatch while CodeMirror is applying one: state changes go out on the next microtask.
  const later = (fn: (v: EditorView) => void) => queueMicrotask(() => view && fn(view))
  const controller = new AutocompleteController({
    ...options,
    view: {
      show: (suggestion) => {
        onSuggestion?.(suggestion)
        later((v) =>
          v.dispatch({
            effects: setGhost.of({ text: suggestion.text, at: suggestion.at, label: latencyLabel(suggestion) }),
          }),
        )
      },
      hide: () => {
        onSuggestion?.(null)
        later((v) => v.dispatch({ effects: setGhost.of(null) }))
      },
      insert: (text, at) =>
        later((v) => {
          if (at > v.state.doc.length) return
          v.dispatch({
            changes: { from: at, insert: text },
            selection: { anchor: at + text.length },
            userEvent: 'input.complete',
            scrollIntoView: true,
          })
        }),
      error: (message) => onError?.(message),
    },
  })

  const notify = (target: EditorView) => {
    const selection = target.state.selection.main
    if (!selection.empty || !target.hasFocus) {
      controller.dismiss()
      return
    }
    const doc = target.state.doc
    const prefix = doc.sliceString(0, selection.head)
    const suffix = doc.sliceString(selection.head)
    controller.edit({
      version: ++version,
      prefix,
      suffix,
      cursor: selection.head,
      rule: rule === 'auto' ? chooseStopRule(prefix, suffix) : rule,
    })
  }

  const plugin = ViewPlugin.define((created) => {
    view = created
    return {
      update(update: ViewUpdate) {
        if (update.docChanged || update.selectionSet || update.focusChanged) notify(update.view)
      },
      destroy() {
        controller.destroy()
        view = null
      },
    }
  })

  const keys = Prec.highest(
    keymap.of([
      { key: 'Tab', run: () => controller.accept() },
      { key: 'Escape', run: () => controller.dismiss() },
    ]),
  )
  return { extension: [ghostField, ghostTheme, plugin, keys], controller }
}

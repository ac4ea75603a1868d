/**
 * Where a code suggestion ends. A model asked to fill the middle keeps writing past the useful part (the next
 * function, a copy of the text after the cursor), so suggestions are cut by a rule: `line` ends at the end of the
 * current line; `block` ends where the indentation leaves the block the cursor is in (a closing bracket at the
 * block's level is kept, and so are `else`/`elif`/`except`/`finally` clauses of the statement that opened it).
 * Both drop text that repeats what already follows the cursor.
 *
 * `applyStopRule` is called on the growing output while it streams: once `done` is true the rest is not needed,
 * and the caller cancels the generation.
 */

export type StopRule = 'line' | 'block'

export type StopRuleContext = {
  rule: StopRule
  /** Text before the cursor (only its last line matters). */
  prefix: string
  /** Text after the cursor. */
  suffix: string
  /** Most lines a block suggestion may have. */
  maxLines?: number
  /** Columns a tab counts for when comparing indentation. */
  tabWidth?: number
}

export type StopDecision = {
  /** The suggestion so far, cut by the rule, without trailing whitespace. */
  text: string
  /** The rule found the end: further output would be discarded. */
  done: boolean
}

export const DEFAULT_MAX_BLOCK_LINES = 24

/** A line that only closes brackets, as ends a block in C-like languages: `}`, `});`, `]`, `end`. */
const CLOSER = /^\s*([}\])]+[;,)]*|end)\s*$/

/**
 * A line at the block's own level that continues its statement: `else:`, `elif x:`, `except E:`, `finally:` in
 * Python, `} else {`, `} catch (e) {`, `} finally {`, `} while (x);` in C-like languages. The block goes on past it.
 */
const CONTINUATION = /^\s*(?:(?:elif|else|except|finally)\b.*:\s*$|\}\s*(?:else|catch|finally|while)\b)/

/**
 * Cuts `output` (text generated at the cursor) by the rule. `complete` says the output has ended, so its last line
 * is whole and may be compared with the text after the cursor.
 */
export function applyStopRule(output: string, context: StopRuleContext, complete = false): StopDecision {
  return context.rule === 'line' ? stopAtLineEnd(output, context) : stopAtBlockEnd(output, context, complete)
}

function stopAtLineEnd(output: string, { prefix, suffix }: StopRuleContext): StopDecision {
  const cursorLine = lastLine(prefix)
  // At the end of a line that already has code, the useful single line is the next one: skip blank lines first.
  let start = 0
  if (cursorLine.trim() !== '' && suffixOnLine(suffix).trim() === '') {
    const firstContent = output.search(/\S/)
    if (firstContent === -1) return { text: '', done: false }
    start = output.lastIndexOf('\n', firstContent) + 1
    if (start > 0) start-- // Keep the newline that moves to the next line.
  }
  const contentAt = output.slice(start).search(/\S/)
  if (contentAt === -1) return { text: trimEnd(output.slice(0, start)), done: false }
  const newline = output.indexOf('\n', start + contentAt)
  const line = newline === -1 ? output : output.slice(0, newline)
  return { text: trimEnd(dropSuffixOnLine(line, suffix)), done: newline !== -1 }
}

function stopAtBlockEnd(
  output: string,
  { prefix, suffix, maxLines = DEFAULT_MAX_BLOCK_LINES, tabWidth = 4 }: StopRuleContext,
  complete: boolean,
): StopDecision {
  const lines = output.split('\n')
  const width = (line: string) => indentWidth(line, tabWidth)
  // Line 0 as it will read in the editor: the cursor line's start plus what the model wrote on it.
  const full = [lastLine(prefix) + (lines[0] ?? ''), ...lines.slice(1)]
  // The block's level: the cursor line's indentation, or, on a blank line, that of the first line written.
  const firstIndex = full.findIndex((line) => line.trim() !== '')
  if (firstIndex === -1) return { text: '', done: false }
  const level = width(full[firstIndex] as string)
  const nextSuffixLine = suffix
    .split('\n')
    .slice(1)
    .find((line) => line.trim() !== '')
  // Whether the first line opened a block (its body is deeper): then the block ends back at its own level.
  let opensBlock: boolean | undefined
  let kept = 1
  let done = false
  let written = lines.length
  for (let i = firstIndex + 1; i < lines.length; i++) {
    const line = lines[i] as string
    const whole = i < lines.length - 1 || complete
    if (line.trim() === '') continue
    const indent = width(line)
    opensBlock ??= indent > level
    if (whole && nextSuffixLine !== undefined && line.trimEnd() === nextSuffixLine.trimEnd()) {
      // The model is writing what already follows the cursor.
      written = i
      done = true
      break
    }
    if (indent < level) {
      written = i
      done = true
      break
    }
    if (indent === level && opensBlock) {
      // A continuation ends the body above and opens the next one; only a whole line can be told apart.
      if (!whole && /^\s*[}ef]/.test(line)) {
        written = i
        break
      }
      if (CONTINUATION.test(line)) {
        if (++kept > maxLines) {
          written = i
          done = true
          break
        }
        continue
      }
      const closes = CLOSER.test(line)
      written = closes && whole ? i + 1 : i
      done = !closes || whole
      break
    }
    if (++kept > maxLines) {
      written = i
      done = true
      break
    }
  }
  const text = lines.slice(0, written).join('\n')
  return { text: trimEnd(written === 1 ? dropSuffixOnLine(text, suffix) : text), done }
}

/** The text of the last line of `text` (after its last newline). */
export function lastLine(text: string): string {
  return text.slice(text.lastIndexOf('\n') + 1)
}

function suffixOnLine(suffix: string): string {
  const newline = suffix.indexOf('\n')
  return newline === -1 ? suffix : suffix.slice(0, newline)
}

/** Inside `f(|)`, a model often writes `a, b)`; the `)` is already there. */
function dropSuffixOnLine(line: string, suffix: string): string {
  const rest = suffixOnLine(suffix).trimEnd()
  if (rest === '') return line
  const trimmed = line.trimEnd()
  return trimmed.endsWith(rest) ? trimmed.slice(0, trimmed.length - rest.length) : line
}

export function indentWidth(line: string, tabWidth = 4): number {
  let width = 0
  for (const char of line) {
    if (char === ' ') width++
    else if (char === '\t') width += tabWidth - (width % tabWidth)
    else break
  }
  return width
}

function trimEnd(text: string): string {
  return text.replace(/\s+$/, '')
}

/**
 * The rule for a spot: a whole block where one starts (the cursor line opens one, or is blank inside code), one
 * line otherwise — the two cases where people want more than the rest of a line.
 */
export function chooseStopRule(prefix: string, suffix: string): StopRule {
  const line = lastLine(prefix)
  const restOfLine = suffix.slice(0, suffix.indexOf('\n') === -1 ? suffix.length : suffix.indexOf('\n'))
  if (restOfLine.trim() !== '') return 'line'
  if (/[:{([]\s*$/.test(line)) return 'block'
  return line.trim() === '' && prefix.trim() !== '' ? 'block' : 'line'
}

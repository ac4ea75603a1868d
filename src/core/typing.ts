/**
 * Typing sessions for the autocomplete benchmark, as pure data: the keystrokes that type a text into a document at
 * a cursor with a seeded, human rhythm (a key every 80–250 ms, longer pauses at line ends; Enter brings the next
 * line's indentation with it, as the editor's auto-indent does), and the statistics of latencies that are cut short
 * when the user types on (a request cancelled before its first token says only that the wait was longer than that).
 */

/** A seeded generator of numbers in [0, 1) (mulberry32): the same seed gives the same session everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export type TypingRhythm = {
  /** Wait before an ordinary key, uniform in [min, max] milliseconds. */
  keyMs: readonly [number, number]
  /** Extra wait after a line is finished (before the first key of the next one), uniform in [min, max]. */
  lineEndMs: readonly [number, number]
}

/** A fast typist's pace (about 6 keys a second) with a short think at each line end. */
export const DEFAULT_RHYTHM: TypingRhythm = { keyMs: [80, 250], lineEndMs: [300, 1_200] }

/** One keystroke: wait `delayMs` after the previous one, then insert `text` at the cursor. */
export type Keystroke = { delayMs: number; text: string }

/** A document with a cursor into which `keys` are typed, in order, each at the cursor. */
export type TypingSession = { name: string; before: string; after: string; keys: Keystroke[] }

/**
 * The keystrokes that type `text`: one per character, except that a newline and the indentation of the line after
 * it are one keystroke (the editor indents after Enter). Delays follow `rhythm`, drawn from `seed`.
 */
export function typingKeys(text: string, seed: number, rhythm: TypingRhythm = DEFAULT_RHYTHM): Keystroke[] {
  const random = seededRandom(seed)
  const uniform = ([min, max]: readonly [number, number]) => Math.round(min + random() * (max - min))
  const keys: Keystroke[] = []
  let lineEnded = false
  for (let i = 0; i < text.length;) {
    let piece = text[i] as string
    if (piece === '\n') piece += /^[ \t]*/.exec(text.slice(i + 1))?.[0] ?? ''
    keys.push({ delayMs: uniform(rhythm.keyMs) + (lineEnded ? uniform(rhythm.lineEndMs) : 0), text: piece })
    lineEnded = piece.startsWith('\n')
    i += piece.length
  }
  return keys
}

/** How long a session takes to type, in milliseconds. */
export function sessionDurationMs(session: Pick<TypingSession, 'keys'>): number {
  return session.keys.reduce((sum, key) => sum + key.delayMs, 0)
}

/** A latency seen to its end (`observed`), or cut off at `ms` (the user typed on first: it would have been longer). */
export type LatencySample = { ms: number; observed: boolean }

/**
 * The q-quantile (0 < q < 1) of latencies some of which were cut off, by the Kaplan–Meier estimate: the
 * smallest observed latency by which the estimated share of requests that got their answer reaches q. Dropping
 * the cut-off ones instead would keep only the fast requests; counting them as answered at the cut would hide how
 * long they would have taken. Null when too many were cut off to tell (fewer than q answered, by the estimate).
 */
export function latencyQuantile(samples: readonly LatencySample[], q: number): number | null {
  if (!(q > 0 && q < 1)) throw new RangeError('q must be in (0, 1)')
  // At equal times, answers count before cut-offs (a request cut at t was still waiting at t).
  const sorted = [...samples].sort((a, b) => a.ms - b.ms || Number(b.observed) - Number(a.observed))
  let atRisk = sorted.length
  let waiting = 1
  for (let i = 0; i < sorted.length;) {
    const ms = (sorted[i] as LatencySample).ms
    let answered = 0
    let cut = 0
    for (; i < sorted.length && (sorted[i] as LatencySample).ms === ms; i++) {
      if ((sorted[i] as LatencySample).observed) answered++
      else cut++
    }
    if (answered > 0) {
      waiting *= 1 - answered / atRisk
      if (1 - waiting >= q - 1e-12) return ms
    }
    atRisk -= answered + cut
  }
  return null
}

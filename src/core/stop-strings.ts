/**
 * Stop strings (OpenAI's `stop`): the output ends just before the first place any of them occurs, and the stop
 * string itself is not part of it. Engines that generate text piece by piece feed the pieces to a `StopMatcher`,
 * which releases only text that can no longer turn out to be the start of a stop string, so streamed deltas never
 * show a stop string (or its beginning) that the final text then lacks. Pure.
 */

export type StopScan = {
  /** Text that is now certain to be output. */
  text: string
  /** A stop string was found: `text` ends where it began, and generation should end. */
  stopped: boolean
}

export type StopMatcher = {
  /** Feeds the next piece of generated text. After a stop, further pieces are ignored. */
  push(piece: string): StopScan
  /** The text held back because it might have begun a stop string; call it when generation has ended otherwise. */
  flush(): string
}

/** The normalised list of stop strings of a request (empty strings never match). */
export function stopStrings(stop: string | readonly string[] | undefined): string[] {
  const list = stop === undefined ? [] : typeof stop === 'string' ? [stop] : [...stop]
  return list.filter((s) => s.length > 0)
}

export function createStopMatcher(stops: readonly string[]): StopMatcher {
  const list = stops.filter((s) => s.length > 0)
  let held = ''
  let stopped = false
  return {
    push(piece) {
      if (stopped) return { text: '', stopped: true }
      const buffer = held + piece
      let cut = -1
      for (const stop of list) {
        const at = buffer.indexOf(stop)
        if (at !== -1 && (cut === -1 || at < cut)) cut = at
      }
      if (cut !== -1) {
        held = ''
        stopped = true
        return { text: buffer.slice(0, cut), stopped: true }
      }
      // Keep back the longest end of the buffer that begins some stop string: every stop that could still complete
      // starts inside it, so nothing released can be part of one.
      let keep = 0
      for (const stop of list) {
        for (let k = Math.min(stop.length - 1, buffer.length); k > keep; k--) {
          if (buffer.endsWith(stop.slice(0, k))) {
            keep = k
            break
          }
        }
      }
      held = buffer.slice(buffer.length - keep)
      return { text: buffer.slice(0, buffer.length - keep), stopped: false }
    },
    flush() {
      const rest = held
      held = ''
      return rest
    },
  }
}

/** The whole output cut at its first stop string: what a `StopMatcher` releases in total, however it is fed. */
export function cutAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  let cut = -1
  for (const stop of stops) {
    if (!stop) continue
    const at = text.indexOf(stop)
    if (at !== -1 && (cut === -1 || at < cut)) cut = at
  }
  return cut === -1 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true }
}

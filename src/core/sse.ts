/**
 * Server-sent events as OpenAI streams them: each chunk is one `data: <json>` event, and the stream ends with
 * `data: [DONE]`. The encoder is what the gateway writes; the decoder (bounded: an event larger than the limit is
 * an error, not a growing buffer) is what the evaluation harness reads when it targets a gateway.
 */

export const SSE_DONE = '[DONE]'

/** One event carrying `data` (JSON-encoded unless it is a string); multi-line strings become several data lines. */
export function encodeSseEvent(data: unknown, event?: string): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  const lines = text.split(/\r\n|\r|\n/).map((line) => `data: ${line}`)
  return `${event ? `event: ${event}\n` : ''}${lines.join('\n')}\n\n`
}

export function encodeSseDone(): string {
  return encodeSseEvent(SSE_DONE)
}

/** A comment line: keeps proxies and clients from timing out an idle stream. */
export function encodeSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`
}

export type SseEvent = { event: string; data: string }

export const MAX_SSE_EVENT_CHARS = 1024 * 1024

/** Incremental SSE parser: push text as it arrives, get whole events back. */
export class SseDecoder {
  #buffer = ''
  #data: string[] = []
  #event = 'message'
  #dataChars = 0
  readonly #maxEventChars: number

  constructor(maxEventChars = MAX_SSE_EVENT_CHARS) {
    this.#maxEventChars = maxEventChars
  }

  push(text: string): SseEvent[] {
    this.#buffer += text
    const events: SseEvent[] = []
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer)
      if (!match) break
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) break
      const line = this.#buffer.slice(0, match.index)
      this.#buffer = this.#buffer.slice(match.index + match[0].length)
      const event = this.#line(line)
      if (event) events.push(event)
    }
    if (this.#buffer.length + this.#dataChars > this.#maxEventChars)
      throw new Error(`An SSE event is longer than ${this.#maxEventChars} characters.`)
    return events
  }

  #line(line: string): SseEvent | null {
    if (line === '') {
      if (this.#data.length === 0) return null
      const event = { event: this.#event, data: this.#data.join('\n') }
      this.#data = []
      this.#dataChars = 0
      this.#event = 'message'
      return event
    }
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') {
      this.#data.push(value)
      this.#dataChars += value.length + 1
    } else if (field === 'event') this.#event = value
    return null
  }
}

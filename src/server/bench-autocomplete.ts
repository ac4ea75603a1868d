/**
 * `npm run bench:autocomplete`: completion latency as the editor sees it, on the local engine — the WebAssembly
 * engine in headless Chromium on the generated 30M-parameter model, through the editor's completion source with
 * its stop rules (the request is cancelled once the rule has the suggestion). 50 editor-like spots: the cursor at
 * line ends and on blank lines of Python and JavaScript files, the rest of the file as the suffix. Prints time to
 * first token and total time, p50 and p95, after 3 warm-up requests.
 */
import { chooseStopRule } from '../core/stop-rules.ts'
import { percentile } from '../core/eval.ts'
import { startLocalCoder, type LocalCompletion } from './eval-local.ts'
import { ensureDemoModels } from './model-demo.ts'

const MODEL = 'modelex-demo-30m'
const SPOTS = 50
const WARMUP = 3
const MAX_TOKENS = 64

const FILES = [
  `from collections import Counter\n\n\ndef word_counts(text: str) -> Counter:\n    words = text.lower().split()\n    return Counter(words)\n\n\ndef top_words(text: str, n: int = 10) -> list[tuple[str, int]]:\n    counts = word_counts(text)\n    return counts.most_common(n)\n\n\nclass Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n\n    def pop(self):\n        if not self.items:\n            raise IndexError('pop from empty stack')\n        return self.items.pop()\n`,
  `export function debounce(fn, ms) {\n  let timer = null\n  return (...args) => {\n    clearTimeout(timer)\n    timer = setTimeout(() => fn(...args), ms)\n  }\n}\n\nexport async function fetchJson(url, { signal } = {}) {\n  const response = await fetch(url, { signal })\n  if (!response.ok) throw new Error(\`HTTP \${response.status}\`)\n  return response.json()\n}\n\nexport function groupBy(items, key) {\n  const groups = new Map()\n  for (const item of items) {\n    const k = item[key]\n    if (!groups.has(k)) groups.set(k, [])\n    groups.get(k).push(item)\n  }\n  return groups\n}\n`,
  `def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\ndef is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True\n`,
]

/** Spots spread over the files: the end of a line (prefix ends there, the rest of the file is the suffix). */
export function editorSpots(count: number): { prefix: string; suffix: string }[] {
  const spots: { prefix: string; suffix: string }[] = []
  const ends = FILES.flatMap((file) => [...file.matchAll(/\n/g)].map((m) => ({ file, at: m.index })))
  for (let i = 0; spots.length < count; i++) {
    const { file, at } = ends[(i * 7) % ends.length] as { file: string; at: number }
    spots.push({ prefix: file.slice(0, at), suffix: file.slice(at) })
  }
  return spots
}

async function main(): Promise<void> {
  await ensureDemoModels({ names: [MODEL], log: console.log })
  const coder = await startLocalCoder({ model: MODEL, log: console.log })
  try {
    const spots = editorSpots(SPOTS + WARMUP)
    const results: LocalCompletion[] = []
    const failures: string[] = []
    for (const [index, spot] of spots.entries()) {
      try {
        const completion = await coder.complete({ ...spot, maxTokens: MAX_TOKENS, rule: chooseStopRule(spot.prefix, spot.suffix) })
        if (index >= WARMUP) results.push(completion)
      } catch (error) {
        // Reported, not hidden: a failed completion is left out of the figures and counted below.
        failures.push(`${JSON.stringify(spot.prefix.slice(-30))}: ${(error as Error).message.split('\n').pop()}`)
      }
    }
    const first = results.map((r) => r.firstTokenMs)
    const total = results.map((r) => r.totalMs)
    const tokens = results.reduce((sum, r) => sum + (r.usage?.completion_tokens ?? 0), 0)
    const fmt = (n: number) => `${n.toFixed(0)} ms`
    console.log(`autocomplete latency, ${MODEL} in the WebAssembly engine (headless Chromium), ${results.length} editor-like completions, up to ${MAX_TOKENS} tokens each:`)
    console.log(`  time to first token  p50 ${fmt(percentile(first, 50))}  p95 ${fmt(percentile(first, 95))}`)
    console.log(`  total                p50 ${fmt(percentile(total, 50))}  p95 ${fmt(percentile(total, 95))}`)
    if (failures.length) console.log(`  FAILED: ${failures.length} completions:\n    ${failures.join('\n    ')}`)
    console.log(`  cut early by the stop rule: ${results.filter((r) => r.stoppedByRule).length} of ${results.length}; ${(tokens / results.length).toFixed(1)} tokens per completion on average (random weights rarely end a line, so most run to the token cap)`)
  } finally {
    await coder.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error))
      process.exit(1)
    },
  )
}

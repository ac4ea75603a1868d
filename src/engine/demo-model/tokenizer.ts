/**
 * A GPT-2-style byte-level BPE vocabulary for the demo model, learnt deterministically from a small built-in
 * corpus: 256 byte tokens (GPT-2's byte-to-unicode mapping), merges in the order learnt, then special tokens.
 * llama.cpp reads it as `tokenizer.ggml.model = gpt2` with `tokenizer.ggml.merges`.
 */

/** GPT-2's reversible mapping from bytes to printable unicode characters. */
export function bytesToUnicode(): string[] {
  const printable: number[] = []
  for (let b = 33; b <= 126; b++) printable.push(b)
  for (let b = 161; b <= 172; b++) printable.push(b)
  for (let b = 174; b <= 255; b++) printable.push(b)
  const table: string[] = new Array(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++)
  }
  return table
}

/** GPT-2's pre-tokenizer split. */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu

export const SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|fim_prefix|>',
  '<|fim_middle|>',
  '<|fim_suffix|>',
  '<|fim_pad|>',
  '<|im_start|>',
  '<|im_end|>',
] as const

export type Vocabulary = {
  tokens: string[]
  /** 1 normal, 3 control (llama.cpp's token types). */
  tokenTypes: number[]
  merges: string[]
  special: Record<(typeof SPECIAL_TOKENS)[number], number>
}

/** Learns `mergeCount` merges (fewer if the corpus runs out of pairs); ties broken by the pair's text. */
export function buildVocabulary(corpus: string, mergeCount: number): Vocabulary {
  const byteChars = bytesToUnicode()
  const encoder = new TextEncoder()
  const wordCounts = new Map<string, number>()
  for (const word of corpus.match(GPT2_SPLIT) ?? []) {
    const mapped = Array.from(encoder.encode(word), (b) => byteChars[b] as string).join('')
    wordCounts.set(mapped, (wordCounts.get(mapped) ?? 0) + 1)
  }
  let words = [...wordCounts].map(([word, count]) => ({ symbols: Array.from(word), count }))
  const merges: string[] = []
  const tokens = [...byteChars]
  while (merges.length < mergeCount) {
    const pairs = new Map<string, number>()
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`
        pairs.set(key, (pairs.get(key) ?? 0) + count)
      }
    }
    let best: string | undefined
    let bestCount = 0
    for (const [pair, count] of pairs) {
      if (count > bestCount || (count === bestCount && best !== undefined && pair < best)) {
        best = pair
        bestCount = count
      }
    }
    if (best === undefined) break
    const [left, right] = best.split(' ') as [string, string]
    merges.push(best)
    tokens.push(left + right)
    words = words.map(({ symbols, count }) => {
      const merged: string[] = []
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right)
          i++
        } else merged.push(symbols[i] as string)
      }
      return { symbols: merged, count }
    })
  }
  const tokenTypes = tokens.map(() => 1)
  const special = {} as Vocabulary['special']
  for (const name of SPECIAL_TOKENS) {
    special[name] = tokens.length
    tokens.push(name)
    tokenTypes.push(3)
  }
  return { tokens, tokenTypes, merges, special }
}

/** True if a vocabulary token decodes to printable ASCII text (letters, digits, punctuation, space, newline). */
export function isPrintableToken(token: string, byteChars: readonly string[] = bytesToUnicode()): boolean {
  const reverse = new Map(byteChars.map((c, b) => [c, b]))
  for (const char of token) {
    const b = reverse.get(char)
    if (b === undefined) return false
    if (!((b >= 32 && b <= 126) || b === 10)) return false
  }
  return token.length > 0
}

/** The corpus the demo vocabulary is learnt from: a little English and a little Python, as code models see. */
export const DEMO_CORPUS = `
The quick brown fox jumps over the lazy dog. A browser can run a language model on its own GPU and share it
with the network. Every answer is signed, every payment is a voucher, and every receipt can be proven on chain.
The node announces its models, its prices and its speed; the consumer picks a node, pays and streams the answer.
def add(a, b):
    """Return the sum of a and b."""
    return a + b

def fibonacci(n):
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)

class Counter:
    def __init__(self, start=0):
        self.value = start

    def increment(self, step=1):
        self.value += step
        return self.value

for i in range(10):
    print(i, add(i, i), fibonacci(i))

function greet(name) {
  return \`Hello, \${name}!\`;
}
const numbers = [1, 2, 3, 4, 5].map((n) => n * 2).filter((n) => n > 4);
if (numbers.length > 0) { console.log(numbers.join(', ')); }
import numpy as np
from typing import List, Optional

def mean(values: List[float]) -> Optional[float]:
    if not values:
        return None
    return sum(values) / len(values)

while True:
    line = input()
    if line == "quit":
        break
    print(line.upper())
`

/**
 * Byte-level BPE token counting for GGUF models whose `tokenizer.ggml.model` is "gpt2" (GPT-2, Qwen2, Llama 3,
 * SmolLM, StarCoder...), done the way llama.cpp's `llama_tokenize(text, add_special = false, parse_special = true)`
 * does it, so a provider can quote a request without running the model: special tokens written in the text are
 * one token each (longest first, as llama.cpp partitions), the rest is split by the model's pre-tokenizer
 * (`tokenizer.ggml.pre`), each piece mapped through GPT-2's byte-to-unicode table and merged by merge rank.
 * It only counts; BOS/EOS are the caller's business (they depend on the runtime's add_bos/add_eos).
 *
 * Limits, on purpose: code point classes (\p{L}, \p{N}) come from the JavaScript engine's Unicode tables, which may
 * be a version apart from llama.cpp's; pre-tokenizers other than the GPT-2, Llama 3, Qwen2 and "digits, then GPT-2"
 * families are approximated by GPT-2's split (`exact: false`). Either way a count never exceeds the UTF-8 bytes.
 */
import { InvalidModelFileError } from './errors/engine.ts'
import { ggufValue, type GgufHeader } from './gguf.ts'

/** The tokenizer metadata a count needs, as a GGUF file holds it. */
export type BpeVocabulary = {
  tokens: readonly string[]
  /** "left right", in rank order. */
  merges: readonly string[]
  /** llama.cpp's token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  tokenTypes?: readonly number[]
  /** `tokenizer.ggml.pre`; missing or unknown: GPT-2's split. */
  pre?: string
}

/** How text is cut into pieces before merging (llama.cpp's pre-tokenizer regexes, by family). */
export type PreTokenizer = 'gpt2' | 'digits-gpt2' | 'llama3' | 'qwen2'

export type BpeTokenizer = {
  /** Tokens of `text` without BOS/EOS; special tokens written in the text count as one. */
  count(text: string): number
  readonly preTokenizer: PreTokenizer
  /** False when `pre` was missing or unknown and GPT-2's split stands in for it. */
  readonly exact: boolean
}

export type CreateBpeTokenizerOptions = {
  /** Pre-token pieces whose counts are remembered (a bounded cache); default 50 000. */
  cacheSize?: number
}

const PRE_TOKENIZERS: Record<string, PreTokenizer> = {}
for (const name of [
  'gpt-2',
  'phi-2',
  'jina-es',
  'jina-de',
  'gigachat',
  'jina-v2-es',
  'jina-v2-de',
  'a.x-4.0',
  'mellum',
  'mpt',
  'olmo',
  'jais',
  'trillion',
  'granite-docling',
  'exaone4',
  'jina-v1-en',
  'jina-v2-code',
  'roberta-bpe',
])
  PRE_TOKENIZERS[name] = 'gpt2'
for (const name of ['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b'])
  PRE_TOKENIZERS[name] = 'digits-gpt2'
for (const name of ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'])
  PRE_TOKENIZERS[name] = 'llama3'
for (const name of ['qwen2', 'deepseek-r1-qwen', 'kormo', 'stablelm2', 'megrez', 'hunyuan'])
  PRE_TOKENIZERS[name] = 'qwen2'

/** The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` value, or undefined if we do not implement it. */
export function preTokenizerOf(pre: string | undefined): PreTokenizer | undefined {
  return pre === undefined ? undefined : PRE_TOKENIZERS[pre]
}

/**
 * The BPE vocabulary of a GGUF header, or null when its tokenizer is not byte-level BPE (`tokenizer.ggml.model`
 * other than "gpt2"). Throws `InvalidModelFileError` when a gpt2 tokenizer's tokens or merges are missing.
 */
export function bpeVocabularyFromGguf(header: GgufHeader): BpeVocabulary | null {
  if (ggufValue(header, 'tokenizer.ggml.model') !== 'gpt2') return null
  const tokens = ggufValue(header, 'tokenizer.ggml.tokens')
  const merges = ggufValue(header, 'tokenizer.ggml.merges')
  const types = ggufValue(header, 'tokenizer.ggml.token_type')
  const pre = ggufValue(header, 'tokenizer.ggml.pre')
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string'))
    throw new InvalidModelFileError('tokenizer.ggml.tokens is missing or not a list of strings')
  if (!Array.isArray(merges) || !merges.every((m) => typeof m === 'string'))
    throw new InvalidModelFileError(
      'tokenizer.ggml.merges is missing or not a list of strings (a gpt2 tokenizer needs them)',
    )
  const vocabulary: BpeVocabulary = { tokens: tokens as string[], merges: merges as string[] }
  if (Array.isArray(types) && types.length === tokens.length) vocabulary.tokenTypes = types.map(Number)
  if (typeof pre === 'string') vocabulary.pre = pre
  return vocabulary
}

/** GPT-2's reversible mapping from bytes to printable unicode characters. */
export function byteToUnicode(): string[] {
  const table: string[] = new Array(256)
  let extra = 0
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)
    table[b] = String.fromCharCode(printable ? b : 256 + extra++)
  }
  return table
}

// Code point classes as llama.cpp's pre-tokenizers see them. DEFINED marks a position inside the piece being split
// (llama.cpp's flags are never zero there), so 0 is "out of range".
const LETTER = 1
const NUMBER = 2
const WHITESPACE = 4
const DEFINED = 8
const OUT = -1
/** llama.cpp's whitespace set (Python's str.isspace without 0x1C-0x1F; JavaScript's \s differs on 0x85 and 0xFEFF). */
const WHITESPACE_CODE_POINTS = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
])
const IS_LETTER = /^\p{L}$/u
const IS_NUMBER = /^\p{N}$/u
// Filled lazily (a class costs two regex tests the first time a code point is seen); shared by all tokenizers.
let classes: Uint8Array | undefined

function classOf(cp: number): number {
  classes ??= new Uint8Array(0x110000)
  let c = classes[cp] as number
  if (c === 0) {
    const s = String.fromCodePoint(cp)
    c =
      DEFINED |
      (IS_LETTER.test(s) ? LETTER : 0) |
      (IS_NUMBER.test(s) ? NUMBER : 0) |
      (WHITESPACE_CODE_POINTS.has(cp) ? WHITESPACE : 0)
    classes[cp] = c
  }
  return c
}

/** Pushes the end (code point index) of each piece of [start, end) onto `ends`. */
type Split = (cps: Int32Array, cls: Uint8Array, start: number, end: number, ends: number[]) => void

const APOSTROPHE = 0x27
const SPACE = 0x20
const CR = 0x0d
const LF = 0x0a
const lowerAscii = (c: number) => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c)
const isContractionTail1 = (c: number) => c === 0x73 || c === 0x74 || c === 0x6d || c === 0x64 // s t m d
const isContractionTail2 = (a: number, b: number) =>
  (a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c) // re ve ll

/** llama.cpp's unicode_regex_split_custom_gpt2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
const splitGpt2: Split = (cps, cls, start, end, ends) => {
  const at = (p: number) => (p >= start && p < end ? (cls[p] as number) : 0)
  const cpAt = (p: number) => (p >= start && p < end ? (cps[p] as number) : OUT)
  let pos = start
  while (pos < end) {
    const cp = cps[pos] as number
    if (cp === APOSTROPHE && pos + 1 < end) {
      const next = cps[pos + 1] as number
      if (isContractionTail1(next)) {
        ends.push((pos += 2))
        continue
      }
      if (pos + 2 < end && isContractionTail2(next, cps[pos + 2] as number)) {
        ends.push((pos += 3))
        continue
      }
    }
    const space = cp === SPACE ? 1 : 0
    const c2 = space ? at(pos + 1) : at(pos)
    if (c2 & LETTER || c2 & NUMBER) {
      const kind = c2 & LETTER ? LETTER : NUMBER
      pos += space
      while (at(pos) & kind) pos++
      ends.push(pos)
      continue
    }
    if (c2 !== 0 && !(c2 & (WHITESPACE | LETTER | NUMBER))) {
      pos += space
      for (let c = at(pos); c !== 0 && !(c & (WHITESPACE | LETTER | NUMBER)); c = at(++pos));
      ends.push(pos)
      continue
    }
    let whitespace = 0
    while (at(pos + whitespace) & WHITESPACE) whitespace++
    if (whitespace > 1 && cpAt(pos + whitespace) !== OUT) pos += whitespace - 1
    else if (whitespace > 0) pos += whitespace
    else pos++
    ends.push(pos)
  }
}

/**
 * llama.cpp's unicode_regex_split_custom_llama3 (maxDigits 3):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * and, with maxDigits 1, Qwen2's regex, which differs only in \p{N}.
 */
const splitLlama3 =
  (maxDigits: number): Split =>
  (cps, cls, start, end, ends) => {
    const at = (p: number) => (p >= start && p < end ? (cls[p] as number) : 0)
    const cpAt = (p: number) => (p >= start && p < end ? (cps[p] as number) : OUT)
    let pos = start
    while (pos < end) {
      const cp = cps[pos] as number
      const c = cls[pos] as number
      if (cp === APOSTROPHE && pos + 1 < end) {
        const next = lowerAscii(cps[pos + 1] as number)
        if (isContractionTail1(next)) {
          ends.push((pos += 2))
          continue
        }
        if (pos + 2 < end && isContractionTail2(next, lowerAscii(cps[pos + 2] as number))) {
          ends.push((pos += 3))
          continue
        }
      }
      if (!(cp === CR || cp === LF || c & NUMBER) && (c & LETTER || at(pos + 1) & LETTER)) {
        pos++
        while (at(pos) & LETTER) pos++
        ends.push(pos)
        continue
      }
      if (c & NUMBER) {
        let run = pos
        while (at(pos) & NUMBER) {
          if (++pos - run >= maxDigits) {
            ends.push(pos)
            run = pos
          }
        }
        if (pos > run) ends.push(pos)
        continue
      }
      const space = cp === SPACE ? 1 : 0
      let c2 = space ? at(pos + 1) : c
      if (c2 !== 0 && !(c2 & (WHITESPACE | LETTER | NUMBER))) {
        pos += space
        while (c2 !== 0 && !(c2 & (WHITESPACE | LETTER | NUMBER))) c2 = at(++pos)
        for (let n = cpAt(pos); n === CR || n === LF; n = cpAt(++pos));
        ends.push(pos)
        continue
      }
      let whitespace = 0
      let afterLastNewline = 0
      while (at(pos + whitespace) & WHITESPACE) {
        const n = cps[pos + whitespace] as number
        if (n === CR || n === LF) afterLastNewline = pos + whitespace + 1
        whitespace++
      }
      if (afterLastNewline > 0) pos = afterLastNewline
      else if (whitespace > 1 && cpAt(pos + whitespace) !== OUT) pos += whitespace - 1
      else if (whitespace > 0) pos += whitespace
      else pos++
      ends.push(pos)
    }
  }

/** StarCoder, SmolLM, Command-R...: \p{N} first (every digit alone, the text between as pieces), then GPT-2's split. */
const splitDigitsThenGpt2: Split = (cps, cls, start, end, ends) => {
  let from = start
  for (let pos = start; pos < end; pos++) {
    if (!((cls[pos] as number) & NUMBER)) continue
    if (pos > from) splitGpt2(cps, cls, from, pos, ends)
    ends.push(pos + 1)
    from = pos + 1
  }
  if (end > from) splitGpt2(cps, cls, from, end, ends)
}

const SPLITS: Record<PreTokenizer, Split> = {
  gpt2: splitGpt2,
  'digits-gpt2': splitDigitsThenGpt2,
  llama3: splitLlama3(3),
  qwen2: splitLlama3(1),
}

/** Token types llama.cpp parses out of text as single tokens (UNKNOWN, CONTROL, USER_DEFINED). */
const SPECIAL_TYPES = new Set([2, 3, 4])

/** A min-heap of candidate merges, ordered by rank, then by the left symbol's position (as llama.cpp's queue). */
class MergeQueue {
  #rank: number[] = []
  #left: number[] = []
  #right: number[] = []
  #leftId: number[] = []
  #rightId: number[] = []
  #size = 0
  get size() {
    return this.#size
  }
  clear() {
    this.#size = 0
  }
  #before(i: number, j: number) {
    const a = this.#rank[i] as number
    const b = this.#rank[j] as number
    return a < b || (a === b && (this.#left[i] as number) < (this.#left[j] as number))
  }
  #swap(i: number, j: number) {
    for (const array of [this.#rank, this.#left, this.#right, this.#leftId, this.#rightId]) {
      const t = array[i] as number
      array[i] = array[j] as number
      array[j] = t
    }
  }
  push(rank: number, left: number, right: number, leftId: number, rightId: number) {
    let i = this.#size++
    this.#rank[i] = rank
    this.#left[i] = left
    this.#right[i] = right
    this.#leftId[i] = leftId
    this.#rightId[i] = rightId
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#before(i, parent)) break
      this.#swap(i, parent)
      i = parent
    }
  }
  /** Removes the first entry; returns [rank, left, right, leftId, rightId]. */
  pop(out: number[]) {
    out[0] = this.#rank[0] as number
    out[1] = this.#left[0] as number
    out[2] = this.#right[0] as number
    out[3] = this.#leftId[0] as number
    out[4] = this.#rightId[0] as number
    const last = --this.#size
    if (last > 0) {
      this.#swap(0, last)
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let first = i
        if (l < last && this.#before(l, first)) first = l
        if (r < last && this.#before(r, first)) first = r
        if (first === i) break
        this.#swap(i, first)
        i = first
      }
    }
  }
}

/** Builds a counting tokenizer from a BPE vocabulary (linear in the vocabulary; do it once per model). */
export function createBpeTokenizer(
  vocabulary: BpeVocabulary,
  { cacheSize = 50_000 }: CreateBpeTokenizerOptions = {},
): BpeTokenizer {
  const known = preTokenizerOf(vocabulary.pre)
  const preTokenizer: PreTokenizer = known ?? 'gpt2'
  const split = SPLITS[preTokenizer]
  // Llama 3's family looks a whole piece up in the vocabulary before merging (llama.cpp's ignore_merges).
  const ignoreMerges = preTokenizer === 'llama3'

  // llama.cpp renames empty tokens; the name is what its special-token matching sees.
  const tokenTexts = vocabulary.tokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t))
  const vocab = new Set(tokenTexts)

  // Every string a merge can produce or consume gets a symbol id; ranks are keyed by (left id, right id).
  const ids = new Map<string, number>()
  const strings: string[] = []
  const intern = (s: string) => {
    let id = ids.get(s)
    if (id === undefined) {
      id = strings.length
      ids.set(s, id)
      strings.push(s)
    }
    return id
  }
  const byteChars = byteToUnicode()
  const byteSymbol = Int32Array.from(byteChars, intern)
  const pairs: [number, number, number][] = []
  for (const merge of vocabulary.merges) {
    const space = merge.indexOf(' ', 1)
    if (space < 0) continue
    const left = merge.slice(0, space)
    const right = merge.slice(space + 1)
    pairs.push([intern(left), intern(right), intern(left + right)])
  }
  const stride = strings.length
  const rankOf = new Map<number, number>()
  const resultOf = new Int32Array(pairs.length)
  pairs.forEach(([left, right, result], rank) => {
    const key = left * stride + right
    // Like llama.cpp's map emplace, the first rank of a repeated merge wins.
    if (rankOf.has(key)) return
    rankOf.set(key, rank)
    resultOf[rank] = result
  })
  // Tokens a final symbol stands for: 1 if the vocabulary has it, else (llama.cpp's fallback) the symbol's single
  // UTF-8 bytes that are tokens. Computed on first use.
  const tokensOfSymbol = new Int32Array(strings.length).fill(-1)
  const encoder = new TextEncoder()
  const symbolTokens = (id: number) => {
    let n = tokensOfSymbol[id] as number
    if (n < 0) {
      const s = strings[id] as string
      n = vocab.has(s)
        ? 1
        : Array.from(encoder.encode(s)).filter((b) => b < 0x80 && vocab.has(String.fromCharCode(b))).length
      tokensOfSymbol[id] = n
    }
    return n
  }

  // Special tokens, longest (in UTF-8 bytes) first, as llama.cpp's tokenizer_st_partition tries them; indexed by
  // their first two UTF-16 units so a text is scanned once for the ones it contains.
  const specials = tokenTexts
    .map((text, id) => ({ text, id, bytes: encoder.encode(text).byteLength }))
    .filter(({ id }) => SPECIAL_TYPES.has(vocabulary.tokenTypes?.[id] ?? 1))
    .sort((a, b) => b.bytes - a.bytes || a.id - b.id)
  const specialsByPrefix = new Map<number, number[]>()
  specials.forEach(({ text }, order) => {
    const key = text.length === 1 ? text.charCodeAt(0) : 0x10000 + text.charCodeAt(0) * 0x10000 + text.charCodeAt(1)
    const list = specialsByPrefix.get(key) ?? []
    list.push(order)
    specialsByPrefix.set(key, list)
  })

  const cache = new Map<string, number>()
  const queue = new MergeQueue()
  const popped = [0, 0, 0, 0, 0]

  function mergeCount(piece: string): number {
    const bytes = encoder.encode(piece)
    if (ignoreMerges) {
      let mapped = ''
      for (const b of bytes) mapped += byteChars[b] as string
      if (vocab.has(mapped)) return 1
    }
    const n = bytes.length
    const symbol = new Int32Array(n)
    const prev = new Int32Array(n)
    const next = new Int32Array(n)
    for (let i = 0; i < n; i++) {
      symbol[i] = byteSymbol[bytes[i] as number] as number
      prev[i] = i - 1
      next[i] = i + 1 < n ? i + 1 : -1
    }
    queue.clear()
    const consider = (left: number, right: number) => {
      if (left < 0 || right < 0) return
      const leftId = symbol[left] as number
      const rightId = symbol[right] as number
      const rank = rankOf.get(leftId * stride + rightId)
      if (rank !== undefined) queue.push(rank, left, right, leftId, rightId)
    }
    for (let i = 1; i < n; i++) consider(i - 1, i)
    while (queue.size > 0) {
      queue.pop(popped)
      const [rank, left, right, leftId, rightId] = popped as [number, number, number, number, number]
      // Symbols only grow, so an unchanged id on both sides means the pair is still adjacent and current.
      if (symbol[left] !== leftId || symbol[right] !== rightId) continue
      symbol[left] = resultOf[rank] as number
      symbol[right] = -1
      const after = next[right] as number
      next[left] = after
      if (after >= 0) prev[after] = left
      consider(prev[left] as number, left)
      consider(left, after)
    }
    let count = 0
    for (let i = 0; i >= 0; i = next[i] as number) count += symbolTokens(symbol[i] as number)
    return count
  }

  function pieceCount(piece: string): number {
    const cached = cache.get(piece)
    if (cached !== undefined) return cached
    const count = mergeCount(piece)
    if (piece.length <= 64) {
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string)
      cache.set(piece, count)
    }
    return count
  }

  function countRaw(text: string): number {
    if (text.length === 0) return 0
    // Code points (lone surrogates read as U+FFFD, as UTF-8 encoding makes them) and where each starts in `text`.
    const cps = new Int32Array(text.length)
    const cls = new Uint8Array(text.length)
    const offsets = new Int32Array(text.length + 1)
    let n = 0
    for (let i = 0; i < text.length; n++) {
      let cp = text.codePointAt(i) as number
      offsets[n] = i
      i += cp > 0xffff ? 2 : 1
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
      cps[n] = cp
      cls[n] = cp < 0x80 ? (ASCII_CLASSES[cp] as number) : classOf(cp)
    }
    offsets[n] = text.length
    const ends: number[] = []
    split(cps, cls, 0, n, ends)
    let count = 0
    let from = 0
    for (const end of ends) {
      count += pieceCount(text.slice(offsets[from], offsets[end]))
      from = end
    }
    return count
  }

  function count(text: string): number {
    if (specials.length === 0) return countRaw(text)
    // Which special tokens occur at all (usually none or a few of them).
    const present = new Set<number>()
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      const one = specialsByPrefix.get(c)
      const two = specialsByPrefix.get(0x10000 + c * 0x10000 + text.charCodeAt(i + 1))
      if (one) for (const order of one) present.add(order)
      if (two)
        for (const order of two) if (text.startsWith((specials[order] as { text: string }).text, i)) present.add(order)
    }
    if (present.size === 0) return countRaw(text)
    // llama.cpp's partition: each special token, longest first, splits every raw fragment at its occurrences.
    let fragments: (string | null)[] = [text]
    let count = 0
    for (const order of [...present].sort((a, b) => a - b)) {
      const special = (specials[order] as { text: string }).text
      const nextFragments: (string | null)[] = []
      for (const fragment of fragments) {
        if (fragment === null || !fragment.includes(special)) {
          nextFragments.push(fragment)
          continue
        }
        let from = 0
        for (let at = fragment.indexOf(special); at >= 0; at = fragment.indexOf(special, from)) {
          if (at > from) nextFragments.push(fragment.slice(from, at))
          nextFragments.push(null)
          count++
          from = at + special.length
        }
        if (from < fragment.length) nextFragments.push(fragment.slice(from))
      }
      fragments = nextFragments
    }
    for (const fragment of fragments) if (fragment !== null) count += countRaw(fragment)
    return count
  }

  return { count, preTokenizer, exact: known !== undefined }
}

const ASCII_CLASSES = Uint8Array.from({ length: 0x80 }, (_, cp) => classOf(cp))

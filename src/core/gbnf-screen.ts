/**
 * Screening a GBNF grammar that came from a peer before an engine sees it. llama.cpp compiles grammars in native
 * code (a Node addon in the server node, wasm in the browser) and some shapes make it loop or overflow its stack
 * instead of failing: an unbounded repetition of something that can match the empty string (`("a"?)*`, `("a"*)*`:
 * llama.cpp #18988), left recursion, and bounded repetitions that expand past any sane size
 * (`("a"{1000}){1000}`). A crashed or stuck engine is a denial of service against a paid node, so these are refused
 * here with a reason, on the wire, before a request is admitted.
 *
 * The reading follows llama.cpp's grammar syntax: `name ::= alternatives` rules (a rule may continue over lines), string
 * literals, character classes, `.`, token references `<...>` / `!<...>`, groups, `|`, and the quantifiers
 * `? * + {n} {n,} {,m} {n,m}`; `#` comments. It only has to see the structure: escapes are skipped, not decoded.
 */

type Node =
  | { t: 'terminal'; nullable: boolean }
  | { t: 'ref'; name: string }
  | { t: 'alt'; options: Node[][] }
  | { t: 'rep'; item: Node; min: number; max: number | null }

type Token =
  | { k: 'str'; empty: boolean }
  | { k: 'class' | 'dot' | 'token' | 'def' | 'lp' | 'rp' | 'bar' }
  | { k: 'name'; name: string }
  | { k: 'quant'; min: number; max: number | null }

export const GBNF_SCREEN_LIMITS = {
  rules: 1_000,
  /** What llama.cpp's rewriting of bounded repetitions may expand to, in copies of terminals and references. */
  expandedSize: 100_000,
  /** Group nesting depth (the parser here is recursive). */
  depth: 64,
} as const

export class GrammarRefusal extends Error {
  override name = 'GrammarRefusal'
}

const refuse = (reason: string): never => {
  throw new GrammarRefusal(reason)
}

const SINGLE: Readonly<Record<string, Token | undefined>> = {
  '.': { k: 'dot' },
  '(': { k: 'lp' },
  ')': { k: 'rp' },
  '|': { k: 'bar' },
  '*': { k: 'quant', min: 0, max: null },
  '+': { k: 'quant', min: 1, max: null },
  '?': { k: 'quant', min: 0, max: 1 },
}

const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_-]/.test(c)

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let at = 0
  const closing = (close: string, what: string) => {
    // Skips to the matching close character, honouring backslash escapes; returns the body's length.
    const start = at
    while (at < source.length && source[at] !== close) at += source[at] === '\\' ? 2 : 1
    if (at >= source.length) refuse(`an unterminated ${what}`)
    at++
    return at - start - 1
  }
  while (at < source.length) {
    const c = source[at] as string
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') at++
    else if (c === '#') while (at < source.length && source[at] !== '\n') at++
    else if (c === '"') {
      at++
      tokens.push({ k: 'str', empty: closing('"', 'string literal') === 0 })
    } else if (c === '[') {
      at++
      if (closing(']', 'character class') === 0) refuse('an empty character class')
      tokens.push({ k: 'class' })
    } else if (c === '<' || (c === '!' && source[at + 1] === '<')) {
      at += c === '!' ? 2 : 1
      closing('>', 'token reference')
      tokens.push({ k: 'token' })
    } else if (SINGLE[c] !== undefined) {
      at++
      tokens.push(SINGLE[c])
    } else if (c === '{') {
      const match = /^\{\s*(\d*)\s*(,?)\s*(\d*)\s*\}/.exec(source.slice(at, at + 40))
      if (!match || (match[1] === '' && match[2] === '')) refuse(`a malformed repetition at ${at}`)
      const [, lo = '', comma, hi = ''] = match as RegExpExecArray
      const min = lo === '' ? 0 : Number(lo)
      const max = comma === '' ? min : hi === '' ? null : Number(hi)
      if (!Number.isSafeInteger(min) || (max !== null && (!Number.isSafeInteger(max) || max < min)))
        refuse(`a malformed repetition at ${at}`)
      tokens.push({ k: 'quant', min, max })
      at += (match as RegExpExecArray)[0].length
    } else if (source.startsWith('::=', at)) {
      at += 3
      tokens.push({ k: 'def' })
    } else if (isWordChar(c)) {
      const start = at
      while (isWordChar(source[at])) at++
      tokens.push({ k: 'name', name: source.slice(start, at) })
    } else refuse(`an unexpected character ${JSON.stringify(c)} at ${at}`)
  }
  return tokens
}

function parse(tokens: Token[]): Map<string, Node> {
  const rules = new Map<string, Node>()
  let at = 0
  const startsRule = (i: number) => tokens[i]?.k === 'name' && tokens[i + 1]?.k === 'def'

  function alternatives(depth: number): Node {
    if (depth > GBNF_SCREEN_LIMITS.depth) refuse('groups nested too deeply')
    const options: Node[][] = [sequence(depth)]
    while (tokens[at]?.k === 'bar') {
      at++
      options.push(sequence(depth))
    }
    return { t: 'alt', options }
  }

  function sequence(depth: number): Node[] {
    const items: Node[] = []
    for (;;) {
      const token = tokens[at]
      if (token === undefined || token.k === 'bar' || token.k === 'rp' || startsRule(at)) return items
      at++
      let node: Node
      if (token.k === 'str') node = { t: 'terminal', nullable: token.empty }
      else if (token.k === 'class' || token.k === 'dot' || token.k === 'token')
        node = { t: 'terminal', nullable: false }
      else if (token.k === 'name') node = { t: 'ref', name: token.name }
      else if (token.k === 'lp') {
        node = alternatives(depth + 1)
        if (tokens[at]?.k !== 'rp') refuse('a group without its closing parenthesis')
        at++
      } else return refuse(`a misplaced ${token.k === 'quant' ? 'quantifier' : token.k === 'def' ? '::=' : token.k}`)
      while (tokens[at]?.k === 'quant') {
        const q = tokens[at++] as Extract<Token, { k: 'quant' }>
        node = { t: 'rep', item: node, min: q.min, max: q.max }
      }
      items.push(node)
    }
  }

  while (at < tokens.length) {
    if (!startsRule(at)) refuse('text outside a rule (expected `name ::=`)')
    const name = (tokens[at] as { name: string }).name
    at += 2
    if (rules.has(name)) refuse(`rule ${name} is defined twice`)
    rules.set(name, alternatives(0))
    if (rules.size > GBNF_SCREEN_LIMITS.rules) refuse(`more than ${GBNF_SCREEN_LIMITS.rules} rules`)
    if (tokens[at]?.k === 'rp') refuse('a closing parenthesis without its group')
  }
  return rules
}

function children(node: Node): Node[] {
  return node.t === 'alt' ? node.options.flat() : node.t === 'rep' ? [node.item] : []
}

/** Throws `GrammarRefusal` naming the first problem; returns the rule names when the grammar is safe to compile. */
export function screenGbnf(source: string): string[] {
  const rules = parse(tokenize(source))
  if (!rules.has('root')) refuse('no root rule')
  const visit = (node: Node, f: (n: Node) => void) => {
    f(node)
    for (const child of children(node)) visit(child, f)
  }
  for (const [name, body] of rules) {
    visit(body, (n) => {
      if (n.t === 'ref' && !rules.has(n.name)) refuse(`rule ${name} refers to an undefined rule ${n.name}`)
    })
  }

  // Which rules can match the empty string: a least fixpoint over the rules.
  const nullableRules = new Set<string>()
  const nullable = (node: Node): boolean => {
    switch (node.t) {
      case 'terminal':
        return node.nullable
      case 'ref':
        return nullableRules.has(node.name)
      case 'alt':
        return node.options.some((option) => option.every(nullable))
      case 'rep':
        return node.min === 0 || nullable(node.item)
    }
  }
  for (let changed = true, rounds = 0; changed && rounds <= rules.size; rounds++) {
    changed = false
    for (const [name, body] of rules) {
      if (nullableRules.has(name) || !nullable(body)) continue
      nullableRules.add(name)
      changed = true
    }
  }

  for (const [name, body] of rules) {
    visit(body, (n) => {
      if (n.t === 'rep' && n.max === null && nullable(n.item))
        refuse(`rule ${name} repeats without bound something that can match the empty string`)
    })
  }

  // Left recursion: the rules each rule can start with (past nullable prefixes); a rule that reaches itself loops.
  const leftRefs = (node: Node, out: Set<string>): void => {
    if (node.t === 'ref') out.add(node.name)
    else if (node.t === 'rep') leftRefs(node.item, out)
    else if (node.t === 'alt')
      for (const option of node.options)
        for (const item of option) {
          leftRefs(item, out)
          if (!nullable(item)) break
        }
  }
  const edges = new Map<string, Set<string>>()
  for (const [name, body] of rules) {
    const out = new Set<string>()
    leftRefs(body, out)
    edges.set(name, out)
  }
  for (const start of rules.keys()) {
    const seen = new Set<string>()
    const stack = [...(edges.get(start) ?? [])]
    while (stack.length > 0) {
      const next = stack.pop() as string
      if (next === start) refuse(`rule ${start} is left-recursive`)
      if (seen.has(next)) continue
      seen.add(next)
      stack.push(...(edges.get(next) ?? []))
    }
  }

  // Size after llama.cpp copies bounded repetitions out: each rule's body counted once (references are one symbol).
  const size = (node: Node): number => {
    switch (node.t) {
      case 'terminal':
      case 'ref':
        return 1
      case 'alt':
        return node.options.reduce((sum, option) => sum + option.reduce((s, item) => s + size(item), 0), 0)
      case 'rep':
        return size(node.item) * Math.max(1, node.max ?? node.min + 1)
    }
  }
  let total = 0
  for (const [name, body] of rules) {
    total += size(body)
    if (total > GBNF_SCREEN_LIMITS.expandedSize)
      refuse(`rule ${name} expands past ${GBNF_SCREEN_LIMITS.expandedSize} symbols`)
  }
  return [...rules.keys()]
}

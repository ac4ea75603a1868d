/**
 * A small GBNF recognizer for tests: it reads the grammar text our templates compile (llama.cpp's format: rules
 * `name ::= ...` one per line, string literals, character classes with ranges and `\x \u \U` escapes, groups,
 * alternation, and the quantifiers `? * + {n} {n,} {n,m}`) and says whether a whole string is in the language.
 * It is an independent reading of the grammar, so a test can check what a compiler emitted without an engine.
 * Sets of end positions per node and start, memoized per rule: fine for the short strings tests use; no left
 * recursion (our grammars have none).
 */

type Node =
  | { t: 'chars'; ranges: [number, number][]; negated: boolean }
  | { t: 'lit'; cps: number[] }
  | { t: 'ref'; name: string }
  | { t: 'alt'; options: Node[][] }
  | { t: 'rep'; item: Node; min: number; max: number | null }

export type Gbnf = { rules: Map<string, Node>; accepts(text: string): boolean }

export function parseGbnf(source: string): Gbnf {
  const rules = new Map<string, Node>()
  for (const line of source.split('\n')) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue
    const match = /^([A-Za-z][A-Za-z0-9-]*)\s*::=\s*(.*)$/.exec(line)
    if (!match) throw new Error(`not a rule: ${line}`)
    const body = [...(match[2] as string)]
    let at = 0
    const fail = (what: string): never => {
      throw new Error(`${what} at ${at} in rule ${match[1]}`)
    }
    const skip = () => {
      while (body[at] === ' ' || body[at] === '\t') at++
    }
    const escaped = (): number => {
      const c = body[at++]
      const hexOf = (n: number) => {
        const digits = body.slice(at, at + n).join('')
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(digits)) fail('bad hex escape')
        at += n
        return parseInt(digits, 16)
      }
      switch (c) {
        case 'x':
          return hexOf(2)
        case 'u':
          return hexOf(4)
        case 'U':
          return hexOf(8)
        case 'n':
          return 10
        case 'r':
          return 13
        case 't':
          return 9
        case '\\':
        case '"':
        case '[':
        case ']':
        case '-':
        case '^':
        case '/':
          return (c as string).codePointAt(0) as number
        default:
          return fail(`unknown escape \\${c}`)
      }
    }
    const alternatives = (): Node[][] => {
      const options: Node[][] = [sequence()]
      while (body[at] === '|') {
        at++
        options.push(sequence())
      }
      return options
    }
    const sequence = (): Node[] => {
      const items: Node[] = []
      skip()
      while (at < body.length && body[at] !== '|' && body[at] !== ')') {
        items.push(quantified())
        skip()
      }
      return items
    }
    const quantified = (): Node => {
      const item = primary()
      const q = body[at]
      const simple =
        q === '?' ? ([0, 1] as const) : q === '*' ? ([0, null] as const) : q === '+' ? ([1, null] as const) : null
      if (simple) {
        at++
        return { t: 'rep', item, min: simple[0], max: simple[1] }
      }
      if (q === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(body.slice(at).join(''))
        if (!m) return fail('bad repetition')
        at += m[0].length
        const min = Number(m[1])
        return { t: 'rep', item, min, max: m[2] === undefined ? min : m[3] === '' ? null : Number(m[3]) }
      }
      return item
    }
    const primary = (): Node => {
      const c = body[at]
      if (c === '"') {
        at++
        const cps: number[] = []
        while (body[at] !== '"') {
          if (at >= body.length) fail('unclosed string')
          const d = body[at++] as string
          cps.push(d === '\\' ? escaped() : (d.codePointAt(0) as number))
        }
        at++
        return { t: 'lit', cps }
      }
      if (c === '[') {
        at++
        const negated = body[at] === '^'
        if (negated) at++
        const ranges: [number, number][] = []
        const point = () => {
          const d = body[at++] as string
          return d === '\\' ? escaped() : (d.codePointAt(0) as number)
        }
        while (body[at] !== ']') {
          if (at >= body.length) fail('unclosed class')
          const lo = point()
          if (body[at] === '-' && body[at + 1] !== ']') {
            at++
            ranges.push([lo, point()])
          } else ranges.push([lo, lo])
        }
        at++
        return { t: 'chars', ranges, negated }
      }
      if (c === '(') {
        at++
        const options = alternatives()
        if (body[at++] !== ')') fail('unclosed group')
        return { t: 'alt', options }
      }
      const name = /^[A-Za-z][A-Za-z0-9-]*/.exec(body.slice(at).join(''))
      if (!name) return fail(`unexpected "${c}"`)
      at += name[0].length
      return { t: 'ref', name: name[0] }
    }
    const options = alternatives()
    if (at !== body.length) fail('trailing text')
    rules.set(match[1] as string, { t: 'alt', options })
  }
  if (!rules.has('root')) throw new Error('no root rule')
  for (const node of rules.values()) checkRefs(node, rules)

  return {
    rules,
    accepts(text: string): boolean {
      const input = [...text].map((c) => c.codePointAt(0) as number)
      const memo = new Map<string, Set<number>>()
      const ends = (node: Node, pos: number): Set<number> => {
        switch (node.t) {
          case 'chars': {
            const cp = input[pos]
            if (cp === undefined) return new Set()
            const inside = node.ranges.some(([lo, hi]) => cp >= lo && cp <= hi)
            return inside !== node.negated ? new Set([pos + 1]) : new Set()
          }
          case 'lit':
            return node.cps.every((cp, i) => input[pos + i] === cp) ? new Set([pos + node.cps.length]) : new Set()
          case 'ref': {
            const key = `${node.name}@${pos}`
            const known = memo.get(key)
            if (known) return known
            const result = ends(rules.get(node.name) as Node, pos)
            memo.set(key, result)
            return result
          }
          case 'alt': {
            const out = new Set<number>()
            for (const seq of node.options) {
              let current = new Set([pos])
              for (const item of seq) {
                const next = new Set<number>()
                for (const p of current) for (const e of ends(item, p)) next.add(e)
                current = next
                if (current.size === 0) break
              }
              for (const e of current) out.add(e)
            }
            return out
          }
          case 'rep': {
            const out = new Set<number>()
            if (node.min === 0) out.add(pos)
            let current = new Set([pos])
            const limit = node.max ?? input.length + 1
            for (let i = 1; i <= limit && current.size > 0; i++) {
              const next = new Set<number>()
              for (const p of current) for (const e of ends(node.item, p)) if (e > p || i <= node.min) next.add(e)
              current = next
              if (i >= node.min) for (const e of current) out.add(e)
            }
            return out
          }
        }
      }
      return ends({ t: 'ref', name: 'root' }, 0).has(input.length)
    },
  }
}

function checkRefs(node: Node, rules: Map<string, Node>): void {
  if (node.t === 'ref' && !rules.has(node.name)) throw new Error(`undefined rule ${node.name}`)
  if (node.t === 'alt') for (const seq of node.options) for (const item of seq) checkRefs(item, rules)
  if (node.t === 'rep') checkRefs(node.item, rules)
}

import { describe, expect, it } from 'vitest'
import { MalformedMessageError } from './errors/p2p.ts'
import { GrammarRefusal, screenGbnf } from './gbnf-screen.ts'
import { BUILTIN_TEMPLATES, templateGrammar } from './templates.ts'
import { decodeRequest, INFER_WIRE_VERSION } from './wire/infer.ts'

const refused = (grammar: string, reason: RegExp) => expect(() => screenGbnf(grammar)).toThrow(reason)

describe('screenGbnf', () => {
  it('passes ordinary grammars, multi-line rules, comments, token references and every built-in template', () => {
    expect(screenGbnf('root ::= "yes" | "no"')).toEqual(['root'])
    expect(
      screenGbnf(
        '# a list\nroot ::= "[" ws (item ("," ws item)*)? "]"\nitem ::= [0-9]+ | "\\"" [^"\\\\]* "\\""\nws ::= [ \\t\\n]*',
      ),
    ).toEqual(['root', 'item', 'ws'])
    expect(screenGbnf('root ::= (\n  "a" |\n  "b"\n)+ <think> !<[42]> .')).toEqual(['root'])
    expect(screenGbnf('root ::= "a"{2,5} "b"{3} "c"{,4} "d"{1,}')).toEqual(['root'])
    for (const template of BUILTIN_TEMPLATES) {
      const grammar = templateGrammar(template, { labels: 'up, down, flat' })
      if (grammar !== null) expect(() => screenGbnf(grammar), template.name).not.toThrow()
    }
  })

  it('refuses an unbounded repetition of what can match the empty string, however it is hidden', () => {
    refused('root ::= ("a"?)*', /without bound/)
    refused('root ::= ("a"*)*', /without bound/)
    refused('root ::= ("a"*)+', /without bound/)
    refused('root ::= ("" | "a"){2,}', /without bound/)
    refused('root ::= x*\nx ::= y "b"?\ny ::= "c"{0,3}', /without bound/)
  })

  it('refuses left recursion, direct or through a nullable prefix or another rule', () => {
    refused('root ::= root "a" | "b"', /left-recursive/)
    refused('root ::= e\ne ::= ws e "+" | "1"\nws ::= " "?', /left-recursive/)
    refused('root ::= a\na ::= b "x" | "y"\nb ::= a', /left-recursive/)
    expect(() => screenGbnf('root ::= "(" root ")" | "x"')).not.toThrow()
  })

  it('refuses repetitions that expand past the limit, undefined rules, no root and malformed text', () => {
    refused('root ::= (("a"{1000}){1000})', /expands past/)
    refused('root ::= item', /undefined rule item/)
    refused('start ::= "a"', /no root/)
    refused('root ::= ("a"', /closing parenthesis/)
    refused('root ::= "a', /unterminated/)
    refused('root ::= []', /empty character class/)
    refused('root ::= "a" ; x', /unexpected character/)
    refused('root ::= *"a"', /misplaced quantifier/)
    refused('root ::= "a"{5,2}', /malformed repetition/)
    refused(`root ::= ${'('.repeat(100)}"a"${')'.repeat(100)}`, /nested too deeply/)
  })

  it('throws only GrammarRefusal', () => {
    for (const grammar of ['', '::=', 'root ::= ', 'root ::= )', 'root ::= "\\', 'root ::= <', 'root ::= x ::= y']) {
      try {
        screenGbnf(grammar)
      } catch (error) {
        expect(error).toBeInstanceOf(GrammarRefusal)
      }
    }
  })
})

describe('the wire', () => {
  const request = (grammar: string) =>
    new TextEncoder().encode(
      JSON.stringify({
        type: 'request',
        v: INFER_WIRE_VERSION,
        request: {
          kind: 'completion',
          model: 'm',
          prompt: 'p',
          max_tokens: 4,
          response_format: { type: 'grammar', grammar },
        },
        payment: null,
      }),
    )

  it('refuses a request whose grammar would loop an engine, with MalformedMessageError naming the field', () => {
    expect(() => decodeRequest(request('root ::= ("a"*)*'))).toThrow(MalformedMessageError)
    expect(() => decodeRequest(request('root ::= root "a"'))).toThrow(/response_format\.grammar.*left-recursive/)
    expect(decodeRequest(request('root ::= "a"+')).request.response_format).toEqual({
      type: 'grammar',
      grammar: 'root ::= "a"+',
    })
  })
})

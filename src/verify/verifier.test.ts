import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { assertAttestation } from '../core/attestation.ts'
import { runInference, type InferenceRequest, type ModelSpec } from '../core/inference.ts'
import { createMemoryEngine } from '../engine/memory/memory-engine.ts'
import { TEST_MODEL } from '../p2p/testing.ts'
import { createVerifier, type CheckInput } from './verifier.ts'

const OTHER: ModelSpec = { ...TEST_MODEL, id: 'memory-other', contentHash: `0x${'22'.repeat(32)}` }
const honestOperator = '0x00000000000000000000000000000000000000aa' as Address
const liarOperator = '0x00000000000000000000000000000000000000bb' as Address
const modelHash = TEST_MODEL.contentHash as Hex

async function engineWith(model: ModelSpec) {
  const engine = createMemoryEngine()
  await engine.load(model)
  return { engine, model }
}

/** A node's answer to `request`, produced by `model` (the liar's differs from the one it claims). */
async function answerOf(
  { engine, model }: Awaited<ReturnType<typeof engineWith>>,
  operator: Address,
  request: InferenceRequest,
): Promise<CheckInput> {
  const result = await runInference(engine, { ...request, model: model.id })
  return {
    node: { operator, peer: 'peer', engine: { kind: 'memory' } },
    modelHash,
    request,
    answer: {
      text: result.text,
      completionTokens: result.usage.completion_tokens,
      finish_reason: result.finish_reason,
    },
  }
}

const request = (i: number): InferenceRequest => ({
  kind: 'chat',
  model: TEST_MODEL.id,
  messages: [{ role: 'user', content: `question ${i}` }],
  max_tokens: 12,
  temperature: 0,
  seed: i,
})

describe('verifier', () => {
  it('agrees with an honest node and flags one serving another model at its first check', async () => {
    const verifier = createVerifier({ engine: (await engineWith(TEST_MODEL)).engine }, { build: { kind: 'memory' } })
    const honest = await engineWith(TEST_MODEL)
    const liar = await engineWith(OTHER)
    for (let i = 0; i < 5; i++) {
      expect((await verifier.check(await answerOf(honest, honestOperator, request(i)))).comparison.outcome).toBe(
        'agree',
      )
    }
    const caught = await verifier.check(await answerOf(liar, liarOperator, request(0)))
    expect(caught.comparison.outcome).toBe('disagree')
    expect(caught.record).toMatchObject({ flagged: true, checksToFirstDisagreement: 1 })
    expect(verifier.record(honestOperator, modelHash)).toMatchObject({ agree: 5, flagged: false })
    expect(verifier.score(honestOperator, modelHash)).toEqual({ score: 1_000_000, sampleSize: 5 })
    const evaluator = '0x00000000000000000000000000000000000000ee' as Address
    const attestations = verifier.attestations({ evaluator })
    expect(attestations.find((a) => a.node === honestOperator)).toMatchObject({
      suite: 'spot-check',
      score: 1_000_000,
      sampleSize: 5,
      evaluator,
    })
    expect(attestations.find((a) => a.node === liarOperator)).toMatchObject({ score: 0, sampleSize: 1 })
    for (const a of attestations) expect(() => assertAttestation(a)).not.toThrow()
    const [evidence] = verifier.evidence()
    expect(evidence?.node.operator).toBe(liarOperator)
    expect(evidence?.verifier.text.length).toBeGreaterThan(0)
  })

  it('is inconclusive without the model, and for a cancelled answer', async () => {
    const verifier = createVerifier({ engine: (await engineWith(OTHER)).engine }, { build: { kind: 'memory' } })
    const input = await answerOf(await engineWith(TEST_MODEL), honestOperator, request(1))
    expect((await verifier.check(input)).comparison).toMatchObject({
      outcome: 'inconclusive',
      reason: 'the verifier has not loaded this model',
    })
    const own = createVerifier({ engine: (await engineWith(TEST_MODEL)).engine }, { build: { kind: 'memory' } })
    expect(
      (await own.check({ ...input, answer: { ...input.answer, finish_reason: 'abort' } })).comparison.outcome,
    ).toBe('inconclusive')
  })

  it('draws checks with its own randomness: all while young, then at the rate, within a bounded queue', async () => {
    const draws = [0.99, 0.05, 0.5]
    let i = 0
    const verifier = createVerifier(
      { engine: (await engineWith(TEST_MODEL)).engine },
      { build: { kind: 'memory' }, warmup: 2, rate: 0.1, random: () => draws[i++ % draws.length] as number },
    )
    const honest = await engineWith(TEST_MODEL)
    const offered: boolean[] = []
    for (let n = 0; n < 6; n++) {
      offered.push(verifier.offer(await answerOf(honest, honestOperator, request(n))))
      await verifier.idle()
    }
    // Young: 0.99 and 0.05 both checked; then only draws below 0.1.
    expect(offered).toEqual([true, true, false, false, true, false])
    const bounded = createVerifier(
      { engine: (await engineWith(TEST_MODEL)).engine },
      { build: { kind: 'memory' }, maxQueue: 1, random: () => 0 },
    )
    const input = await answerOf(honest, honestOperator, request(9))
    expect([bounded.offer(input), bounded.offer(input)]).toEqual([true, false])
    await bounded.idle()
  })
})

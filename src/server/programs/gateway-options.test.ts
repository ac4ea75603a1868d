import { parseEther } from 'viem'
import { describe, expect, test } from 'vitest'
import { streamMeter } from '../../core/bounds.ts'
import { ContractRevertedError } from '../../core/errors/chain.ts'
import { GatewayOptionError } from '../../core/errors/gateway.ts'
import { InferRequestError, InferStreamError } from '../../core/errors/p2p.ts'
import {
  InsufficientDepositError,
  NoNodeAvailableError,
  PaidRequestInterruptedError,
  SpendLimitError,
  StreamLimitError,
} from '../../core/errors/payments.ts'
import type { Delta } from '../../core/inference.ts'
import { errorBody } from './gateway-openai.ts'
import {
  GATEWAY_USAGE,
  meteredTexts,
  paidError,
  readGatewayOptions,
  SPEND_LIMIT_OPTIONS,
  upstreamError,
} from './gateway.ts'

const refusal = (run: () => unknown): GatewayOptionError => {
  try {
    run()
  } catch (error) {
    return error as GatewayOptionError
  }
  throw new Error('accepted')
}

describe('readGatewayOptions: spend limits', () => {
  test('flags in AI with decimals are exact wei; only the limits given are set', () => {
    const { limits } = readGatewayOptions(
      ['--max-spend-per-request', '0.5', '--max-price-out', '2.000000000000000001'],
      {},
    )
    expect(limits).toEqual({
      maxSpendPerRequest: parseEther('0.5'),
      maxPricePerMillionOutput: 2_000_000_000_000_000_001n,
    })
    expect(readGatewayOptions(['--max-deposit', '25', '--max-price-in', '.25'], {}).limits).toEqual({
      maxDeposit: 25n * 10n ** 18n,
      maxPricePerMillionInput: parseEther('0.25'),
    })
  })

  test('none given: no limits at all, so the SDK applies its defaults', () => {
    expect(readGatewayOptions([], {})).not.toHaveProperty('limits')
  })

  test('environment variables, the flag winning over its variable', () => {
    const env = {
      MODELEX_MAX_SPEND_PER_REQUEST: '3',
      MODELEX_MAX_DEPOSIT: '40',
      MODELEX_MAX_PRICE_IN: '1.5',
      MODELEX_MAX_PRICE_OUT: '0',
    }
    expect(readGatewayOptions([], env).limits).toEqual({
      maxSpendPerRequest: parseEther('3'),
      maxDeposit: parseEther('40'),
      maxPricePerMillionInput: parseEther('1.5'),
      maxPricePerMillionOutput: 0n,
    })
    expect(readGatewayOptions(['--max-spend-per-request', '0.1'], env).limits?.maxSpendPerRequest).toBe(
      parseEther('0.1'),
    )
  })

  test.each(['-1', '1e18', 'abc', '', '1.', '0x10', '1,5', '0.0000000000000000001', '1 000'])(
    'a bad amount (%j) is a GatewayOptionError naming the flag, never a rounded value',
    (value) => {
      const error = refusal(() => readGatewayOptions([`--max-deposit=${value}`], {}))
      expect(error).toBeInstanceOf(GatewayOptionError)
      expect(error).toMatchObject({ name: 'GatewayOptionError', option: '--max-deposit' })
      expect(error.message).toMatch(/--max-deposit must be an amount of AI such as 0\.5/)
    },
  )

  test('a bad amount in the environment names the variable', () => {
    expect(refusal(() => readGatewayOptions([], { MODELEX_MAX_PRICE_OUT: 'lots' }))).toMatchObject({
      name: 'GatewayOptionError',
      option: 'MODELEX_MAX_PRICE_OUT',
    })
  })

  test('the other options refuse bad values with the same typed error; --help is read', () => {
    expect(refusal(() => readGatewayOptions(['--port', '70000'], {}))).toMatchObject({
      name: 'GatewayOptionError',
      option: '--port',
    })
    expect(refusal(() => readGatewayOptions([], { MODELEX_GATEWAY_ROUTE: 'elsewhere' }))).toMatchObject({
      name: 'GatewayOptionError',
      option: 'MODELEX_GATEWAY_ROUTE',
    })
    const short = refusal(() => readGatewayOptions(['--token', 'short-secret'], {}))
    expect(short).toMatchObject({ name: 'GatewayOptionError', option: '--token' })
    expect(short.message).not.toContain('short-secret')
    expect(readGatewayOptions(['--help'], {}).help).toBe(true)
    expect(readGatewayOptions(['-h'], {}).help).toBe(true)
  })

  test('the usage text lists every limit flag, its variable and the SDK default', () => {
    for (const { flag, env } of Object.values(SPEND_LIMIT_OPTIONS)) {
      expect(GATEWAY_USAGE).toContain(`--${flag} <AI>`)
      expect(GATEWAY_USAGE).toContain(env)
    }
    expect(GATEWAY_USAGE).toMatch(/--max-spend-per-request <AI>.*the SDK's default: 1 AI/)
    expect(GATEWAY_USAGE).toMatch(/--max-deposit <AI>.*the SDK's default: 10 AI/)
    expect(GATEWAY_USAGE).toMatch(/--max-price-in <AI>.*the SDK's default: 10 AI per million input tokens/)
  })
})

describe('paidError: one status per failure, by who can fix it', () => {
  test('a spend limit is 402 spend_limit, naming the limit, the amounts and the flag that raises it', () => {
    const mapped = paidError(
      new SpendLimitError({ limit: 'maxSpendPerRequest', allowed: parseEther('1'), asked: parseEther('2.5') }),
    )
    expect(mapped).toMatchObject({
      name: 'PaidRouteError',
      status: 402,
      type: 'payment_required',
      code: 'spend_limit',
      reason: 'SpendLimitError',
    })
    expect(mapped.message).toMatch(/maxSpendPerRequest is 1 AI and the node asks 2\.5/)
    expect(mapped.message).toMatch(/--max-spend-per-request <AI> \(or MODELEX_MAX_SPEND_PER_REQUEST\)/)
    expect(errorBody(mapped).error).toMatchObject({ code: 'spend_limit', type: 'payment_required' })
    const price = paidError(
      new SpendLimitError({ limit: 'maxPricePerMillionOutput', allowed: parseEther('10'), asked: parseEther('12') }),
    )
    expect(price.message).toMatch(
      /maxPricePerMillionOutput is 10 AI per million output tokens and the node asks 12; .*--max-price-out/,
    )
    expect(paidError(new SpendLimitError({ limit: 'maxDeposit', allowed: 1n, asked: 2n })).message).toMatch(
      /--max-deposit/,
    )
  })

  test('a node that streams past max_tokens is 502 upstream_overrun, also when the SDK wraps it', () => {
    const overrun = new StreamLimitError({ maxTokens: 4, received: 9, kept: 4, text: 'abcd' })
    expect(paidError(overrun)).toMatchObject({
      status: 502,
      type: 'upstream_error',
      code: 'upstream_overrun',
      reason: 'StreamLimitError',
    })
    const wrapped = paidError(new PaidRequestInterruptedError({ text: 'abcd', credit: 0n, cause: overrun }))
    expect(wrapped).toMatchObject({ status: 502, code: 'upstream_overrun', reason: 'StreamLimitError' })
  })

  test('the other failures keep their statuses, and the error name as the code', () => {
    expect(paidError(new NoNodeAvailableError({ model: 'm' }))).toMatchObject({
      status: 503,
      code: 'PaidRouteError',
      reason: 'NoNodeAvailableError',
    })
    expect(paidError(new InsufficientDepositError({ channelId: 1n, needed: 2n, deposit: 1n }))).toMatchObject({
      status: 402,
      type: 'payment_required',
    })
    expect(
      paidError(
        new ContractRevertedError({
          contract: 'PaymentChannels',
          functionName: 'open',
          errorName: 'InsufficientAllowance',
          args: [],
        }),
      ),
    ).toMatchObject({ status: 402 })
    expect(paidError(new InferRequestError({ code: 'BUSY', message: 'full' }))).toMatchObject({
      status: 429,
      reason: 'InferRequestError',
    })
    expect(
      paidError(
        new PaidRequestInterruptedError({
          text: '',
          credit: 0n,
          cause: new InferStreamError({ reason: 'reset', details: 'gone' }),
        }),
      ),
    ).toMatchObject({ status: 502, reason: 'PaidRequestInterruptedError' })
  })
})

describe('the local route meters what the paired node sends', () => {
  /** Deltas as a node would send them, recording whether the reader stopped the stream (which cancels the call). */
  function node(deltas: Delta[]) {
    const seen = { sent: 0, stopped: false }
    async function* stream() {
      try {
        for (const delta of deltas) {
          seen.sent++
          yield delta
        }
      } finally {
        seen.stopped = seen.sent < deltas.length
      }
    }
    return { seen, stream: stream() }
  }
  const read = async (source: AsyncIterable<string>) => {
    const pieces: string[] = []
    try {
      for await (const piece of source) pieces.push(piece)
    } catch (error) {
      return { pieces, error }
    }
    return { pieces, error: null }
  }

  test('an answer within max_tokens passes unchanged', async () => {
    const { stream } = node([
      { text: 'a', tokens: 1 },
      { text: '', tokens: 1 },
      { text: 'bc', tokens: 1 },
    ])
    expect(await read(meteredTexts(stream, 3))).toEqual({ pieces: ['a', 'bc'], error: null })
  })

  test('more tokens than max_tokens: refused at the first piece over, and the stream is stopped', async () => {
    const { seen, stream } = node(Array.from({ length: 100 }, () => ({ text: 'x', tokens: 1 })))
    const { pieces, error } = await read(meteredTexts(stream, 4))
    expect(pieces).toEqual(['x', 'x', 'x', 'x'])
    expect(error).toBeInstanceOf(StreamLimitError)
    expect(seen).toEqual({ sent: 5, stopped: true })
    expect(upstreamError(error, 'peer')).toMatchObject({
      name: 'UpstreamNodeError',
      status: 502,
      code: 'upstream_overrun',
    })
    expect(errorBody(upstreamError(error, 'peer')).error.code).toBe('upstream_overrun')
  })

  test('more text than max_tokens can hold, whatever token count the node claims, is refused before it is kept', async () => {
    const { seen, stream } = node([
      { text: 'y'.repeat(10_000), tokens: 1 },
      { text: 'z', tokens: 1 },
    ])
    const { pieces, error } = await read(meteredTexts(stream, 2))
    expect(pieces).toEqual([])
    expect(error).toBeInstanceOf(StreamLimitError)
    expect(seen.stopped).toBe(true)
    // The same bound as the SDK's meter: the gateway holds no more than the core allows.
    expect(() => streamMeter(2).add({ text: 'y'.repeat(10_000), tokens: 1 })).toThrow(StreamLimitError)
  })
})

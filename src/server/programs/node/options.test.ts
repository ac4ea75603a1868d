import { describe, expect, it } from 'vitest'
import { NodeOptionError } from '../../../core/errors/operations.ts'
import { parseNodeCommand } from './options.ts'

describe('server node command line', () => {
  it('reads a run with prices in AI, exactly in wei, and defaults', () => {
    const command = parseNodeCommand([
      '--model',
      'm.gguf',
      '--price-in',
      '0.001',
      '--price-out',
      '3',
      '--state-dir',
      '/tmp/x',
      '--gpu',
      'auto',
      '--oracle-template',
      `0x${'ab'.repeat(32)}`,
      '--listen',
      '/ip4/0.0.0.0/tcp/4003/ws',
      '--listen',
      '/ip6/::/tcp/4003/ws',
    ])
    expect(command).toMatchObject({
      kind: 'run',
      engine: 'native',
      prices: { pricePerMillionInput: 10n ** 15n, pricePerMillionOutput: 3n * 10n ** 18n },
      stateDir: '/tmp/x',
      gpu: 'auto',
      opsPort: 9464,
      drainMs: 30_000,
      jobs: false,
      oracleTemplates: [`0x${'ab'.repeat(32)}`],
      listen: ['/ip4/0.0.0.0/tcp/4003/ws', '/ip6/::/tcp/4003/ws'],
      webrtc: false,
    })
    expect((command as { model: string }).model).toMatch(/^\/.*m\.gguf$/)
  })

  it('takes WebRTC connections only when asked', () => {
    const base = ['--model', 'm.gguf', '--price-in', '1', '--price-out', '1']
    expect(parseNodeCommand([...base, '--webrtc'])).toMatchObject({ webrtc: true })
    expect(parseNodeCommand(base)).toMatchObject({ webrtc: false })
    expect(parseNodeCommand([...base, '--webrtc', '--webrtc-address', '127.0.0.1'])).toMatchObject({
      webrtc: true,
      webrtcAddress: '127.0.0.1',
    })
    for (const [args, option] of [
      [['--webrtc-address', '127.0.0.1'], '--webrtc-address'],
      [['--webrtc', '--webrtc-address', 'localhost'], '--webrtc-address'],
    ] as const) {
      expect(() => parseNodeCommand([...base, ...args])).toThrow(NodeOptionError)
      expect(() => parseNodeCommand([...base, ...args])).toThrow(option)
    }
  })

  it('reads console commands and help', () => {
    expect(parseNodeCommand(['console', 'drain', '--state-dir', '/tmp/s'])).toEqual({
      kind: 'console',
      command: 'drain',
      stateDir: '/tmp/s',
    })
    expect(parseNodeCommand(['--help'])).toEqual({ kind: 'help' })
  })

  it('refuses what it cannot use with a typed error naming the option', () => {
    const cases: [string[], string][] = [
      [['--price-in', '1', '--price-out', '1'], '--model'],
      [['--model', 'm', '--price-out', '1'], '--price-in'],
      [['--model', 'm', '--price-in=-1', '--price-out', '1'], '--price-in'],
      [['--model', 'm', '--price-in', '1', '--price-out', '0.0000000000000000001'], '--price-out'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--ops-port', '70000'], '--ops-port'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--gpu', 'tpu'], '--gpu'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--token-delay-ms', '5'], '--token-delay-ms'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--oracle-template', '0x12'], '--oracle-template'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--bogus'], 'the command line'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--listen', '/ip4/0.0.0.0/tcp/4003'], '--listen'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--listen', 'localhost:4003'], '--listen'],
      [['--model', 'm', '--price-in', '1', '--price-out', '1', '--listen', '/ip4/1.2.3.4/udp/1/quic-v1'], '--listen'],
      [['console', 'explode'], 'the console command'],
      [['console', 'status', '--model', 'x'], 'the console command line'],
    ]
    for (const [argv, option] of cases) {
      let error: unknown
      try {
        parseNodeCommand(argv)
      } catch (e) {
        error = e
      }
      expect(error, argv.join(' ')).toBeInstanceOf(NodeOptionError)
      expect((error as NodeOptionError).option).toBe(option)
    }
  })
})

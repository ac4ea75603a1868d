/**
 * The server node's command line: `npm run node -- --model FILE.gguf --price-in … --price-out …` to serve, and
 * `npm run node -- console <command>` to talk to a running one. Parsing only: every value is checked here and a
 * bad one is a `NodeOptionError` that names the option, so the program never starts half-configured.
 */
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { parseEther, type Hex } from 'viem'
import { NodeOptionError } from '../../../core/errors/operations.ts'

const root = resolve(import.meta.dirname, '../../../..')

export const NODE_DEFAULTS = {
  stateDir: resolve(root, '.modelex/node'),
  deploymentFile: resolve(root, '.modelex/deployment.json'),
  /** The operations endpoints (`/metrics`, `/graphql`) on 127.0.0.1. */
  opsPort: 9464,
  /** How long a drain waits for requests in flight before it cancels them (billing what was sent). */
  drainMs: 30_000,
  /** The anvil test account that funds a devnet operator created by the node. */
  devnetFunder: 4,
  contextLength: 4096,
} as const

export const CONSOLE_COMMANDS = ['status', 'drain', 'redeem', 'withdraw', 'anchor'] as const
export type ConsoleCommand = (typeof CONSOLE_COMMANDS)[number]

export type NodeRunOptions = {
  kind: 'run'
  /** A GGUF file (native engine), or a model id (memory engine). */
  model: string
  engine: 'native' | 'memory'
  prices: { pricePerMillionInput: bigint; pricePerMillionOutput: bigint }
  stateDir: string
  deploymentFile: string
  /** The operator's wallet key (stake, earnings); default `<state-dir>/operator.key`, made and funded on the devnet only. */
  keyFile?: string
  relay?: string
  /** Addresses of its own to listen on besides the relay's circuit (consumers then upgrade to a direct connection). */
  listen: string[]
  /** Also take WebRTC connections, signalled through the relay (for a node with no address others can reach). */
  webrtc: boolean
  /** With `webrtc`: the one local address WebRTC's ICE binds to and offers (default every interface but loopback). */
  webrtcAddress?: string
  opsPort: number
  drainMs: number
  threads?: number
  /** Native engine: GPU backend (default off: the CPU, deterministic). */
  gpu: false | 'auto' | 'cuda' | 'vulkan'
  /** Native engine: context length (tokens), at most the model's. */
  contextLength: number
  /** Memory engine only: delay per token. */
  tokenDelayMs?: number
  batchMaxReceipts?: number
  redeemThreshold?: bigint
  stake?: bigint
  announceIntervalMs?: number
  /** Take async jobs at the live prices. */
  jobs: boolean
  /** Answer oracle requests of these templates. */
  oracleTemplates: Hex[]
}

export type NodeConsoleOptions = { kind: 'console'; command: ConsoleCommand; stateDir: string }

export type NodeCommand = NodeRunOptions | NodeConsoleOptions | { kind: 'help' }

export const NODE_USAGE = [
  'Usage: npm run node -- --model FILE.gguf --price-in <AI> --price-out <AI> [options]',
  '       npm run node -- console status|drain|redeem|withdraw|anchor [--state-dir DIR]',
  '',
  'Serves a model to the Modelex network for pay, from this machine (native llama.cpp), registered on-chain.',
  '',
  '  --model <file.gguf>           the model to serve (with --engine memory: a model id)',
  '  --price-in <AI>               price per million input tokens, in AI (0.001)',
  '  --price-out <AI>              price per million output tokens, in AI',
  "  --key-file <file>             the operator's wallet key (0x…, mode 0600; default <state-dir>/operator.key,",
  '                                created and funded on the local devnet only)',
  '  --deployment <file>           the network (default .modelex/deployment.json)',
  '  --state-dir <dir>             keys, books, receipts, history, the ops token and console socket (default .modelex/node)',
  "  --relay <multiaddr>           the relay (default the deployment's)",
  '  --listen <multiaddr>          also listen here, e.g. /ip4/0.0.0.0/tcp/4003/ws: consumers that reach it',
  '                                connect directly instead of through the relay (repeatable)',
  '  --webrtc                      also take WebRTC connections, signalled through the relay: consumers with WebRTC',
  '                                (the SDK, the gateway, browsers) then reach a node with no address of its own directly',
  '  --webrtc-address <ip>         with --webrtc: the one local address WebRTC uses (default every interface but loopback)',
  `  --ops-port <n>                /metrics and /graphql on 127.0.0.1 (default ${NODE_DEFAULTS.opsPort}; 0 picks one)`,
  `  --drain-ms <ms>               on SIGTERM/SIGINT, how long requests in flight may finish (default ${NODE_DEFAULTS.drainMs})`,
  '  --threads <n>                 CPU threads of the engine',
  '  --gpu off|auto|cuda|vulkan    native engine backend (default off: the CPU, whose output is reproducible)',
  `  --context <n>                 context length in tokens (default ${NODE_DEFAULTS.contextLength}, at most the model's)`,
  '  --announce-interval-ms <ms>   how often to announce on the network',
  '  --engine native|memory        native llama.cpp (default), or the in-memory test engine',
  '  --token-delay-ms <ms>         memory engine: delay per token',
  '  --batch <n>                   anchor every n receipts',
  '  --redeem-threshold <AI>       redeem a channel once its voucher pays this much',
  "  --stake <AI>                  stake to register with (default the registry's minimum)",
  '  --jobs                        take async jobs at the same prices',
  '  --oracle-template <0x…>       answer oracle requests of this template (repeatable)',
  '  -h, --help                    print this',
].join('\n')

export function parseNodeCommand(argv: readonly string[]): NodeCommand {
  if (argv[0] === 'console') return parseConsole(argv.slice(1))
  const { values } = parse(argv)
  if (values.help) return { kind: 'help' }
  const model = values.model
  if (!model) throw new NodeOptionError({ option: '--model', expected: 'a GGUF file to serve' })
  const engine = values.engine ?? 'native'
  if (engine !== 'native' && engine !== 'memory')
    throw new NodeOptionError({ option: '--engine', expected: 'native or memory', value: engine })
  const options: NodeRunOptions = {
    kind: 'run',
    model: engine === 'native' ? resolve(model) : model,
    engine,
    prices: {
      pricePerMillionInput: aiAmount(values['price-in'], '--price-in', true) as bigint,
      pricePerMillionOutput: aiAmount(values['price-out'], '--price-out', true) as bigint,
    },
    stateDir: resolve(values['state-dir'] ?? NODE_DEFAULTS.stateDir),
    deploymentFile: resolve(values.deployment ?? NODE_DEFAULTS.deploymentFile),
    opsPort: integer(values['ops-port'], '--ops-port', 0, 65535) ?? NODE_DEFAULTS.opsPort,
    drainMs: integer(values['drain-ms'], '--drain-ms', 0, 3_600_000) ?? NODE_DEFAULTS.drainMs,
    jobs: values.jobs === true,
    listen: (values.listen ?? []).map((address) => listenAddress(address)),
    webrtc: values.webrtc === true,
    gpu: gpuOption(values.gpu),
    contextLength: integer(values.context, '--context', 16, 1 << 20) ?? NODE_DEFAULTS.contextLength,
    oracleTemplates: (values['oracle-template'] ?? []).map((t) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(t))
        throw new NodeOptionError({ option: '--oracle-template', expected: 'a 0x template hash (32 bytes)', value: t })
      return t as Hex
    }),
  }
  if (values['key-file']) options.keyFile = resolve(values['key-file'])
  if (values.relay) options.relay = values.relay
  if (values['webrtc-address'] !== undefined) {
    if (!options.webrtc) throw new NodeOptionError({ option: '--webrtc-address', expected: 'given only with --webrtc' })
    if (isIP(values['webrtc-address']) === 0)
      throw new NodeOptionError({
        option: '--webrtc-address',
        expected: 'an IPv4 or IPv6 address',
        value: values['webrtc-address'],
      })
    options.webrtcAddress = values['webrtc-address']
  }
  const optional = {
    threads: integer(values.threads, '--threads', 1, 1024),
    tokenDelayMs: integer(values['token-delay-ms'], '--token-delay-ms', 0, 60_000),
    batchMaxReceipts: integer(values.batch, '--batch', 1, 10_000),
    announceIntervalMs: integer(values['announce-interval-ms'], '--announce-interval-ms', 100, 3_600_000),
    redeemThreshold: aiAmount(values['redeem-threshold'], '--redeem-threshold', false),
    stake: aiAmount(values.stake, '--stake', false),
  }
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) Object.assign(options, { [key]: value })
  if (options.tokenDelayMs !== undefined && engine !== 'memory')
    throw new NodeOptionError({ option: '--token-delay-ms', expected: 'given only with --engine memory' })
  return options
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        model: { type: 'string' },
        'price-in': { type: 'string' },
        'price-out': { type: 'string' },
        'key-file': { type: 'string' },
        deployment: { type: 'string' },
        'state-dir': { type: 'string' },
        relay: { type: 'string' },
        listen: { type: 'string', multiple: true },
        webrtc: { type: 'boolean' },
        'webrtc-address': { type: 'string' },
        'ops-port': { type: 'string' },
        'drain-ms': { type: 'string' },
        threads: { type: 'string' },
        gpu: { type: 'string' },
        context: { type: 'string' },
        engine: { type: 'string' },
        'token-delay-ms': { type: 'string' },
        batch: { type: 'string' },
        'redeem-threshold': { type: 'string' },
        stake: { type: 'string' },
        'announce-interval-ms': { type: 'string' },
        jobs: { type: 'boolean' },
        'oracle-template': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    })
  } catch (error) {
    throw new NodeOptionError({ option: 'the command line', expected: `known options (${(error as Error).message})` })
  }
}

function parseConsole(argv: readonly string[]): NodeConsoleOptions {
  const [command, ...rest] = argv
  if (!CONSOLE_COMMANDS.includes(command as ConsoleCommand))
    throw new NodeOptionError({
      option: 'the console command',
      expected: CONSOLE_COMMANDS.join(', '),
      ...(command === undefined ? {} : { value: command }),
    })
  let values
  try {
    values = parseArgs({ args: rest, options: { 'state-dir': { type: 'string' } }, strict: true }).values
  } catch (error) {
    throw new NodeOptionError({
      option: 'the console command line',
      expected: `--state-dir only (${(error as Error).message})`,
    })
  }
  return {
    kind: 'console',
    command: command as ConsoleCommand,
    stateDir: resolve(values['state-dir'] ?? NODE_DEFAULTS.stateDir),
  }
}

/** A WebSocket address to listen on (the transport every Modelex peer dials): /ip4|ip6|dns…/tcp/<port>/ws. */
function listenAddress(text: string): string {
  let names: string[]
  try {
    names = multiaddr(text)
      .getComponents()
      .map((c) => c.name)
  } catch {
    names = []
  }
  if (
    names.length !== 3 ||
    !['ip4', 'ip6', 'dns4', 'dns6', 'dns'].includes(names[0]!) ||
    names[1] !== 'tcp' ||
    names[2] !== 'ws'
  )
    throw new NodeOptionError({
      option: '--listen',
      expected: 'a WebSocket multiaddr such as /ip4/0.0.0.0/tcp/4003/ws',
      value: text,
    })
  return text
}

function gpuOption(text: string | undefined): NodeRunOptions['gpu'] {
  if (text === undefined || text === 'off') return false
  if (text === 'auto' || text === 'cuda' || text === 'vulkan') return text
  throw new NodeOptionError({ option: '--gpu', expected: 'off, auto, cuda or vulkan', value: text })
}

function integer(text: string | undefined, option: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max)
    throw new NodeOptionError({ option, expected: `an integer in ${min}..${max}`, value: text })
  return value
}

/** An amount of AI as written (`0.5`, at most 18 decimals), exactly in wei. */
function aiAmount(text: string | undefined, option: string, required: boolean): bigint | undefined {
  if (text === undefined) {
    if (required) throw new NodeOptionError({ option, expected: 'an amount of AI such as 0.001' })
    return undefined
  }
  const amount = text.trim()
  if (!/^(?:\d+(?:\.\d{1,18})?|\.\d{1,18})$/.test(amount))
    throw new NodeOptionError({
      option,
      expected: 'an amount of AI such as 0.5 (digits, at most 18 decimals, not negative)',
      value: text,
    })
  return parseEther(amount)
}

import { describe, expect, test } from 'vitest'
import { federationPeers, readRelayOptions } from './relay.ts'

const peer = '/ip4/127.0.0.1/tcp/9091/ws/p2p/12D3KooWDh2N7FspZdWtma5DFWwKw6to1vKdo4auNyZpwTpiVgsF'
const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3'

describe('readRelayOptions', () => {
  test('peer relays (repeatable), a registry with its RPC, and the connection limit', () => {
    const options = readRelayOptions(
      [
        '--peer-relay',
        peer,
        '--peer-relay',
        peer.replace('9091', '9092'),
        '--rpc-url',
        'http://127.0.0.1:8545',
        '--registry',
        registry,
        '--max-connections',
        '900',
      ],
      {},
    )
    expect(options.peerRelays).toHaveLength(2)
    expect(options.registry).toEqual({ rpcUrl: 'http://127.0.0.1:8545', address: registry })
    expect(options.limits?.maxConnections).toBe(900)
  })

  test('without a registry the relay takes every well-formed topic (no registry option)', () => {
    const options = readRelayOptions([], {})
    expect(options.registry).toBeUndefined()
    expect(options.peerRelays).toEqual([])
  })

  test.each([
    ['a registry without its RPC', ['--registry', registry]],
    ['an RPC without a registry', ['--rpc-url', 'http://127.0.0.1:8545']],
    ['a registry that is not an address', ['--rpc-url', 'http://127.0.0.1:8545', '--registry', '0x12']],
    ['a peer relay without its peer id', ['--peer-relay', '/ip4/127.0.0.1/tcp/9091/ws']],
    ['a connection limit of 0', ['--max-connections', '0']],
  ])('refuses %s with a message', (_, argv) => {
    expect(() => readRelayOptions(argv, {})).toThrow(/--/)
  })
})

test('federationPeers: ids and dial addresses without the /p2p part', () => {
  const { ids, directPeers } = federationPeers([peer])
  expect([...ids]).toEqual(['12D3KooWDh2N7FspZdWtma5DFWwKw6to1vKdo4auNyZpwTpiVgsF'])
  expect(directPeers[0]!.addrs.map(String)).toEqual(['/ip4/127.0.0.1/tcp/9091/ws'])
})

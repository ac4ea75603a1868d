import { describe, expect, test } from 'vitest'
import { deploymentRelays, InvalidDeploymentError, MAX_DEPLOYMENT_RELAYS, parseDeployment } from './deployment.ts'

const valid = {
  version: 1,
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  startBlock: 0,
  contracts: { AIToken: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  relay: '/ip4/127.0.0.1/tcp/9090/ws/p2p/12D3KooWabc',
}

describe('parseDeployment', () => {
  test('accepts a valid file', () => {
    expect(parseDeployment(valid)).toEqual(valid)
    expect(parseDeployment({ ...valid, relay: null, contracts: {} }).relay).toBeNull()
  })

  test.each([
    ['not an object', []],
    ['wrong version', { ...valid, version: 2 }],
    ['bad chain id', { ...valid, chainId: -1 }],
    ['bad rpc url', { ...valid, rpcUrl: 'ftp://x' }],
    ['bad start block', { ...valid, startBlock: 1.5 }],
    ['bad relay', { ...valid, relay: 'localhost:9090' }],
    ['unknown contract', { ...valid, contracts: { Unknown: valid.contracts.AIToken } }],
    ['bad address', { ...valid, contracts: { AIToken: '0x1234' } }],
    ['empty relays', { ...valid, relays: [] }],
    ['relays not a list', { ...valid, relays: valid.relay }],
    ['a bad relay in relays', { ...valid, relays: [valid.relay, 'localhost:9091'] }],
    ['a relay listed twice', { ...valid, relays: [valid.relay, valid.relay] }],
    [
      'relay not the first of relays',
      { ...valid, relays: ['/ip4/127.0.0.1/tcp/9091/ws/p2p/12D3KooWdef', valid.relay] },
    ],
    [
      'too many relays',
      {
        ...valid,
        relays: Array.from({ length: MAX_DEPLOYMENT_RELAYS + 1 }, (_, i) => `/ip4/127.0.0.1/tcp/${9000 + i}/ws`),
      },
    ],
  ])('rejects %s with a typed error', (_, input) => {
    expect(() => parseDeployment(input)).toThrow(InvalidDeploymentError)
  })
})

describe('federated relays', () => {
  const second = '/ip4/127.0.0.1/tcp/9091/ws/p2p/12D3KooWdef'

  test('an old single-relay file reads as one relay, and has no relays field', () => {
    const parsed = parseDeployment(valid)
    expect(parsed).not.toHaveProperty('relays')
    expect(deploymentRelays(parsed)).toEqual([valid.relay])
    expect(deploymentRelays(parseDeployment({ ...valid, relay: null }))).toEqual([])
  })

  test('a federated file lists every relay, the first also as relay', () => {
    const parsed = parseDeployment({ ...valid, relays: [valid.relay, second] })
    expect(parsed.relay).toBe(valid.relay)
    expect(deploymentRelays(parsed)).toEqual([valid.relay, second])
  })

  test('a file with only relays names its first as relay', () => {
    const { relay: _relay, ...withoutRelay } = valid
    const parsed = parseDeployment({ ...withoutRelay, relays: [second, valid.relay] })
    expect(parsed.relay).toBe(second)
    expect(deploymentRelays(parsed)).toEqual([second, valid.relay])
  })
})

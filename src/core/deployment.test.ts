import { describe, expect, test } from 'vitest'
import { InvalidDeploymentError, parseDeployment } from './deployment.ts'

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
  ])('rejects %s with a typed error', (_, input) => {
    expect(() => parseDeployment(input)).toThrow(InvalidDeploymentError)
  })
})

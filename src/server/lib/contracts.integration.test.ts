/**
 * The deployment the local stack and the integration tests share registers the built-in sentiment template for the
 * demo model `npm start`'s provider serves, and deploys the SentimentConsumer with that template's id, so a node
 * that opts in to the template can answer the consumer's requests.
 */
import { createPublicClient, http, type Address } from 'viem'
import { readContract } from 'viem/actions'
import { describe, expect, inject, it } from 'vitest'
import { getRegisteredTemplate, getTemplateModel } from '../../chain/actions/index.ts'
import { SENTIMENT_MODEL_HASH, SENTIMENT_TEMPLATE_HASH } from '../../chain/constants.ts'
import { sentimentConsumerAbi } from '../../chain/generated.ts'
import { DEMO_MODELS } from '../../core/models.ts'
import { SENTIMENT_TEMPLATE, templateId } from '../../core/templates.ts'
import type { ContractName } from '../../core/deployment.ts'
import { deployedContract } from '../testing/contracts.ts'

const deployment = inject('deployment')
const contract = (name: ContractName): Address => deployedContract(deployment, name)
const client = createPublicClient({ transport: http(deployment.rpcUrl), pollingInterval: 50 })

describe('deployContracts: the sentiment template', () => {
  it('registers the built-in sentiment template for modelex-demo-30m and deploys the consumer with its id', async () => {
    const router = contract('OracleRouter')
    const demo = DEMO_MODELS.find((model) => model.id === 'modelex-demo-30m')
    expect(SENTIMENT_MODEL_HASH).toBe(demo?.contentHash)
    expect(SENTIMENT_TEMPLATE_HASH).toBe(templateId(SENTIMENT_TEMPLATE))
    expect(
      await readContract(client, {
        address: contract('SentimentConsumer'),
        abi: sentimentConsumerAbi,
        functionName: 'templateHash',
      }),
    ).toBe(SENTIMENT_TEMPLATE_HASH)
    expect(await getTemplateModel(client, { router, templateHash: SENTIMENT_TEMPLATE_HASH })).toBe(SENTIMENT_MODEL_HASH)
    expect(await getRegisteredTemplate(client, { router, templateHash: SENTIMENT_TEMPLATE_HASH })).toEqual({
      template: SENTIMENT_TEMPLATE,
      modelHash: SENTIMENT_MODEL_HASH,
    })
  })
})

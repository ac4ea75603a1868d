/**
 * `npm run chain:generate`: typed ABIs of the Modelex contracts for viem and @wagmi/core, read from the Foundry
 * artifacts into `src/chain/generated.ts` (committed). The plugin builds with the repo's forge binary and never
 * installs or fetches anything (`foundry.toml` sets `offline`).
 */
import { defineConfig } from '@wagmi/cli'
import { foundry } from '@wagmi/cli/plugins'

export const CONTRACT_ARTIFACTS = [
  'AIToken',
  'NodeRegistry',
  'PaymentChannels',
  'ReceiptAnchor',
  'OracleRouter',
  'SentimentConsumer',
] as const

export default defineConfig({
  out: 'src/chain/generated.ts',
  plugins: [
    foundry({
      project: 'contracts',
      forge: { path: 'node_modules/.bin/forge', build: true, rebuild: false, clean: false },
      include: CONTRACT_ARTIFACTS.map((name) => `${name}.sol/${name}.json`),
      exclude: [],
    }),
  ],
})

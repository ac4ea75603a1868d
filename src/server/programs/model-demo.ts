/**
 * `npm run model:demo`: writes the generated demo models (random weights, real GGUF) to `.modelex/models/`,
 * where the app serves them at `/models/<file>`. Skips a file that is already there with the right content hash.
 * The content hashes are constants of the model catalog; this program checks that the generator still matches.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { keccak256 } from 'viem'
import { DEMO_MODELS } from '../../core/models.ts'
import { DEMO_30M, DEMO_TINY, generateDemoModel, type DemoModelConfig } from '../../engine/demo-model/generate.ts'

export const DEFAULT_MODELS_DIR = resolve(import.meta.dirname, '../../../.modelex/models')

const CONFIGS: Record<string, DemoModelConfig> = { [DEMO_TINY.name]: DEMO_TINY, [DEMO_30M.name]: DEMO_30M }

export type EnsureDemoModelsParameters = { dir?: string; names?: readonly string[]; log?: (line: string) => void }

/** Makes sure the demo model files exist in `dir` with their catalog hashes; returns their paths by model id. */
export async function ensureDemoModels({
  dir = DEFAULT_MODELS_DIR,
  names = Object.keys(CONFIGS),
  log = () => {},
}: EnsureDemoModelsParameters = {}): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true })
  const paths: Record<string, string> = {}
  for (const name of names) {
    const config = CONFIGS[name]
    const record = DEMO_MODELS.find((m) => m.id === name)
    if (!config || !record) throw new Error(`Unknown demo model ${name}. Known: ${Object.keys(CONFIGS).join(', ')}`)
    const path = join(dir, `${name}.gguf`)
    paths[name] = path
    const existing = await readFile(path).catch(() => null)
    if (existing && keccak256(existing) === record.contentHash) continue
    const started = performance.now()
    const bytes = generateDemoModel(config)
    const hash = keccak256(bytes)
    if (hash !== record.contentHash) {
      throw new Error(
        `The generator made ${name} with hash ${hash}, but the catalog says ${record.contentHash}. Update DEMO_MODELS in src/core/models.ts if the change was on purpose.`,
      )
    }
    await writeFile(`${path}.tmp`, bytes)
    await rename(`${path}.tmp`, path)
    log(
      `${name}: ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB written in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    )
  }
  return paths
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const paths = await ensureDemoModels({ log: console.log })
  for (const [name, path] of Object.entries(paths)) console.log(`${name}: ${path}`)
}

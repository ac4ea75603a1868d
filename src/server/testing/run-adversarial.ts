/**
 * `npm run test:adversarial`: runs the adversarial suite (`src/adversarial/`, vitest project `adversarial`: real
 * relay, real anvil, malicious peers built from the real code with one rule broken), then prints one line per attack
 * (attack, outcome, AI wei the honest side lost, and what the issue allows) and a last line `N attacks, X wei lost`.
 * Exits non-zero when a test failed or any loss is above its allowance. `--json FILE` also writes vitest's report.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { OUTCOMES_FILE, parseOutcomes } from '../../adversarial/outcomes.ts'

const root = resolve(import.meta.dirname, '../../..')

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'string' } } })
  await rm(OUTCOMES_FILE, { force: true })
  const args = ['run', '--project', 'adversarial', '--reporter=default']
  if (values.json) args.push('--reporter=json', `--outputFile.json=${values.json}`)
  const code = await new Promise<number>((done) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'vitest'), args, {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, MODELEX_ADVERSARIAL_OUTCOMES: OUTCOMES_FILE },
    })
    child.once('error', () => done(127))
    child.once('close', (c, signal) => done(c ?? (signal ? 128 : 1)))
  })
  const outcomes = existsSync(OUTCOMES_FILE) ? parseOutcomes(await readFile(OUTCOMES_FILE, 'utf8')) : []
  console.log('\n━━ attacks ━━')
  let lost = 0n
  let over = 0
  for (const o of outcomes) {
    lost += o.lostWei
    const beyond = o.lostWei > o.allowedWei
    if (beyond) over++
    console.log(
      `${beyond ? 'LOST' : 'held'}  ${o.attack}: ${o.outcome}; lost ${o.lostWei} wei${o.allowedWei > 0n ? ` (allowed ${o.allowedWei})` : ''}`,
    )
  }
  // The last line keeps the plain form `N attacks, X wei lost`; whether that is within the allowances is said above it.
  console.log(
    over > 0
      ? `${over} attacks lost more than the issue allows`
      : lost > 0n
        ? 'every loss is within what the issue allows for it'
        : 'nothing lost',
  )
  console.log(`${outcomes.length} attacks, ${lost} wei lost`)
  process.exitCode = code !== 0 || over > 0 ? 1 : 0
}

await main()

/**
 * `npm run bench`: runs every `bench:*` script of package.json in turn and prints their figures. Benchmarks
 * print their own figures and ratios, measured in the same run; this only runs them and says which failed.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../../..')
const scripts = Object.keys(
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {},
)
const benches = scripts.filter((name) => name.startsWith('bench:')).sort()

if (benches.length === 0) {
  console.log('No benchmarks yet: add a "bench:<name>" script to package.json.')
} else {
  const failed: string[] = []
  for (const name of benches) {
    console.log(`\n━━ ${name} ━━`)
    const started = performance.now()
    const result = spawnSync('npm', ['run', '--silent', name], { cwd: root, stdio: 'inherit' })
    console.log(`(${name} took ${((performance.now() - started) / 1000).toFixed(1)} s)`)
    if (result.status !== 0) failed.push(name)
  }
  console.log(
    `\n${benches.length - failed.length} of ${benches.length} benchmarks ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}.`,
  )
  process.exitCode = failed.length ? 1 : 0
}

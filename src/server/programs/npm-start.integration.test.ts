/**
 * `npm start` under a process manager: systemd and `docker stop` send SIGTERM to npm (not to the stack), and npm
 * may be killed hard. Either way every process the stack started must end. The stack's processes are found by
 * walking /proc from npm's PID down, so a process we did not know about (Chromium's helpers) counts too.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { freePort } from '../lib/ports.ts'
import { startProcess, type ManagedProcess } from '../lib/process.ts'

const root = join(import.meta.dirname, '../../..')

/** A process as /proc shows it; the start time tells a process from a later one that reuses its PID. */
type ProcessEntry = { pid: number; ppid: number; startTime: string; state: string; command: string }

async function readProcessEntry(pid: number): Promise<ProcessEntry | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may itself hold spaces or parentheses: the fields follow the last ')'.
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    return {
      pid,
      ppid: Number(fields[1]),
      startTime: fields[19] ?? '',
      state: fields[0] ?? '',
      command: stat.slice(stat.indexOf('(') + 1, close),
    }
  } catch {
    return null
  }
}

/** `pid` and every process below it. */
async function processTree(pid: number): Promise<ProcessEntry[]> {
  const entries = (
    await Promise.all(
      (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map((name) => readProcessEntry(Number(name))),
    )
  ).filter((e) => e !== null)
  const tree: ProcessEntry[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const next = queue.shift() as number
    const entry = entries.find((e) => e.pid === next)
    if (entry) tree.push(entry)
    for (const child of entries.filter((e) => e.ppid === next)) queue.push(child.pid)
  }
  return tree
}

/** Still running: the same process (same start time) and not a zombie waiting to be reaped. */
async function isRunning(entry: ProcessEntry): Promise<boolean> {
  const now = await readProcessEntry(entry.pid)
  return now !== null && now.startTime === entry.startTime && now.state !== 'Z'
}

async function survivors(entries: readonly ProcessEntry[]): Promise<ProcessEntry[]> {
  const running = await Promise.all(entries.map(async (entry) => ((await isRunning(entry)) ? entry : null)))
  return running.filter((e) => e !== null)
}

/** Polls until every process in `entries` has ended; returns the ones still running when `timeoutMs` is up. */
async function waitForAllGone(entries: readonly ProcessEntry[], timeoutMs: number): Promise<ProcessEntry[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = await survivors(entries)
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('npm start under a process manager', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })

  /** Starts `npm start` in its own process group and returns it with every process below it once the URL is printed. */
  async function startNpm(extraArgs: string[]): Promise<{ npm: ManagedProcess; tree: ProcessEntry[] }> {
    const stateDir = await mkdtemp(join(tmpdir(), 'modelex-npm-start-'))
    cleanups.push(() => rm(stateDir, { recursive: true, force: true }))
    const ports = [
      '--chain-port',
      String(await freePort()),
      '--relay-port',
      String(await freePort()),
      '--app-port',
      String(await freePort()),
    ]
    const npm = startProcess('npm start', 'npm', ['start', '--', '--state-dir', stateDir, ...ports, ...extraArgs], {
      cwd: root,
      detached: true,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    })
    let tree: ProcessEntry[] = []
    // Whatever a failed test leaves running is killed by PID (checked against its start time), then by group.
    cleanups.push(async () => {
      for (const entry of await survivors(tree)) process.kill(entry.pid, 'SIGKILL')
      try {
        process.kill(-npm.pid, 'SIGKILL')
      } catch {
        // The group is gone.
      }
      await npm.exited
    })
    await npm.waitForLine(/Open (http:\S+)/, 300_000)
    tree = await processTree(npm.pid)
    const output = npm.output()
    // The walk saw the processes the stack says it started.
    for (const pid of [output.match(/anvil \(pid (\d+)\)/)?.[1], output.match(/relay: \(pid (\d+)\)/)?.[1]]) {
      expect(tree.map((e) => e.pid)).toContain(Number(pid))
    }
    return { npm, tree }
  }

  // systemd (KillMode=mixed) and `docker stop` signal npm alone; KillMode=control-group and a terminal's Ctrl-C
  // signal the whole group.
  test.each([
    { signal: 'SIGTERM', to: 'npm alone' },
    { signal: 'SIGINT', to: 'npm alone' },
    { signal: 'SIGTERM', to: 'the process group' },
  ] as const)(
    '$signal to $to stops every process the stack started, then npm exits 0',
    async ({ signal, to }) => {
      const { npm, tree } = await startNpm(['--no-demo-provider'])
      process.kill(to === 'npm alone' ? npm.pid : -npm.pid, signal)
      const code = await Promise.race([
        npm.exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000)),
      ])
      expect(code).toBe(0)
      expect(npm.output()).toContain(`${signal}: stopping the local stack`)
      expect((await waitForAllGone(tree, 5_000)).map((e) => `${e.pid} ${e.command}`)).toEqual([])
    },
    400_000,
  )

  test('with npm killed hard (SIGKILL), the stack and its headless demo provider stop by themselves', async () => {
    const { npm, tree } = await startNpm([])
    expect(tree.some((e) => /chrom/i.test(e.command))).toBe(true)
    process.kill(npm.pid, 'SIGKILL')
    await npm.exited
    expect((await waitForAllGone(tree, 15_000)).map((e) => `${e.pid} ${e.command}`)).toEqual([])
  }, 400_000)
})

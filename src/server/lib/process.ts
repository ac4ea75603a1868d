/**
 * Child processes that we start and must stop: spawned with a known PID, their output kept for error messages,
 * stopped by PID (SIGTERM, then SIGKILL after a grace period). Every process a program or test starts goes
 * through here, so nothing is left behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export type ManagedProcess = {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Last lines of stdout and stderr, for error messages. */
  output(): string
  /** Resolves when a line of output matches; rejects if the process exits first or the time runs out. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>
  exited: Promise<number | null>
  stop(graceMs?: number): Promise<void>
}

const live = new Set<ManagedProcess>()

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ManagedProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options })
  if (child.pid === undefined) throw new Error(`Could not start ${name} (${command}).`)
  const lines: string[] = []
  const listeners = new Set<(line: string) => void>()
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split(/\r?\n/)) {
      if (!line) continue
      lines.push(line)
      if (lines.length > 200) lines.shift()
      for (const listener of listeners) listener(line)
    }
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject))
  spawnFailed.catch(() => {})

  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    child,
    output: () => lines.join('\n'),
    exited,
    waitForLine(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = (fn: () => void) => {
          clearTimeout(timer)
          listeners.delete(check)
          fn()
        }
        const check = (line: string) => {
          const match = line.match(pattern)
          if (match) done(() => resolve(match))
        }
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(`${name} did not print ${pattern} within ${timeoutMs} ms. Output:\n${managed.output()}`),
              ),
            ),
          timeoutMs,
        )
        for (const line of lines) {
          const match = line.match(pattern)
          if (match) return done(() => resolve(match))
        }
        listeners.add(check)
        exited.then((code) =>
          done(() =>
            reject(new Error(`${name} exited (code ${code}) before printing ${pattern}. Output:\n${managed.output()}`)),
          ),
        )
        spawnFailed.catch((error: unknown) => done(() => reject(error)))
      })
    },
    async stop(graceMs = 3_000) {
      live.delete(managed)
      if (child.exitCode !== null || child.signalCode !== null) return
      killPid(managed.pid, 'SIGTERM')
      const timer = setTimeout(() => killPid(managed.pid, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
  live.add(managed)
  exited.then(() => live.delete(managed))
  return managed
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // Already gone.
  }
}

/** Stops every process started through `startProcess` that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()))
}

/** Last resort on a hard exit: signal every live child synchronously. */
export function killAllNow(): void {
  for (const p of live) killPid(p.pid, 'SIGKILL')
}

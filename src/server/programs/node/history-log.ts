/**
 * The server node's history on disk: one JSON line per served request (`ServedRecord`) or uptime sample, appended
 * to `history.jsonl` in the state directory (mode 0600), read back at start. Appending costs one small write per
 * paid request however long the history is. A line that does not parse (a write cut by a crash) is skipped and
 * counted, never fatal; memory keeps the newest `maxRecords`.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { parseServedRecord, parseUptimeSample, type ServedRecord, type UptimeSample } from '../../../core/history.ts'

export type HistoryLog = {
  readonly served: readonly ServedRecord[]
  readonly uptime: readonly UptimeSample[]
  /** Lines skipped at load. */
  readonly skipped: number
  addServed(record: ServedRecord): Promise<void>
  addUptime(sample: UptimeSample): Promise<void>
  /** Resolves when every write so far is on disk. */
  flush(): Promise<void>
}

export async function openHistoryLog(
  path: string,
  { maxRecords = 200_000 }: { maxRecords?: number } = {},
): Promise<HistoryLog> {
  const served: ServedRecord[] = []
  const uptime: UptimeSample[] = []
  let skipped = 0
  let text = ''
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      const value = JSON.parse(line) as { type?: unknown; earnings?: unknown }
      if (value.type === 'uptime') uptime.push(parseUptimeSample(value))
      else
        served.push(
          parseServedRecord({
            ...value,
            earnings:
              typeof value.earnings === 'string' && /^\d+$/.test(value.earnings)
                ? BigInt(value.earnings)
                : value.earnings,
          }),
        )
    } catch {
      skipped++
    }
  }
  trim(served, maxRecords)
  trim(uptime, maxRecords)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  let writing: Promise<void> = Promise.resolve()
  const append = (line: object) => {
    const next = writing.then(() => appendFile(path, `${JSON.stringify(line)}\n`, { mode: 0o600 }))
    writing = next.catch(() => {})
    return next
  }
  return {
    served,
    uptime,
    skipped,
    addServed(record) {
      served.push(record)
      trim(served, maxRecords)
      return append({ ...record, earnings: record.earnings.toString() })
    },
    addUptime(sample) {
      uptime.push(sample)
      trim(uptime, maxRecords)
      return append({ type: 'uptime', ...sample })
    },
    flush: () => writing,
  }
}

function trim<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(0, list.length - max)
}

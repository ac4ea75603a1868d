/**
 * Suite data for evaluators in the browser and in Node: the HumanEval single-line set from its gzipped JSON lines
 * (the app fetches the file Vite serves from `data/`; Node reads it), decompressed with the platform's
 * `DecompressionStream`, so the same code runs in both.
 */
import { parseProblems, type EvalProblem } from '../core/eval.ts'

/** Gunzips `bytes` to text with the platform's streams (browsers, Node 18+). */
export async function gunzipText(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'))
  return new Response(stream).text()
}

/** Whether `bytes` start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b
}

/**
 * The first `limit` problems of a JSON-lines problem file, gzipped or not: static servers (Vite's preview among them)
 * send a `.gz` file with `Content-Encoding: gzip`, so the browser hands over the text already decompressed.
 */
export async function problemsFromGzip(bytes: Uint8Array, limit = Infinity): Promise<EvalProblem[]> {
  return parseProblems(isGzip(bytes) ? await gunzipText(bytes) : new TextDecoder().decode(bytes), limit)
}

/** Fetches and parses a gzipped problem file (the app's copy of `data/`). */
export async function fetchProblems(
  url: string,
  { limit = Infinity, fetch: get = fetch }: { limit?: number; fetch?: typeof fetch } = {},
): Promise<EvalProblem[]> {
  const response = await get(url)
  if (!response.ok) throw new Error(`Could not fetch the problem set ${url}: ${response.status}.`)
  return problemsFromGzip(new Uint8Array(await response.arrayBuffer()), limit)
}

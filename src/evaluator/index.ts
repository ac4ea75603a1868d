/**
 * The evaluator: challenge suites run against one node through the consumer SDK (paid like any consumer), scored
 * into the unsigned attestations of `src/core/attestation.ts`, in the browser (the Evaluate view, Python in a Pyodide
 * worker) and in Node (the sandboxed Python runner of `src/server/evals/python.ts`, the PhraseBank read in place).
 *
 * @example
 * const client = createClient({ deployment, wallet })
 * const [entry] = await client.nodes({ model: 'modelex-demo-tiny' })
 * const run = await runEvaluation({ client, target: { entry, model: 'modelex-demo-tiny' }, evaluator: operator, suites: ['fim', 'sentiment', 'latency', 'uptime'], limit: 10, problems, runPython, sentiment: sentimentTask(items) })
 * for (const attestation of run.attestations) await book.publish(await signAttestation(nodeSigner, attestation, domain))
 */
export { EVALUATOR_DEFAULTS } from './constants.ts'
export { fetchProblems, gunzipText, problemsFromGzip } from './data.ts'
export {
  EVALUATION_SUITES,
  ppm,
  runEvaluation,
  type EvaluationProgress,
  type EvaluationRun,
  type EvaluationScores,
  type EvaluationSuite,
  type EvaluationTarget,
  type FimResult,
  type RunEvaluationParameters,
  type SentimentResult,
  type UptimeResult,
} from './runner.ts'
export {
  isNodeFailure,
  runPythonWith,
  type EvaluatorClient,
  type ProgramRunner,
  type PythonOutcome,
  type RunPython,
  type SentimentItem,
  type SentimentTask,
} from './types.ts'

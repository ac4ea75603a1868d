/** Defaults of the evaluator's suite runner. */
export const EVALUATOR_DEFAULTS = {
  /** Problems, headlines or probes per suite when the caller names no limit. */
  limit: 10,
  /** Tokens a single-line infilling answer may take (the line usually ends well before). */
  fimMaxTokens: 48,
  /** Tokens a sentiment answer may take (one word is asked for). */
  sentimentMaxTokens: 8,
  /** What latency-only runs and uptime probes ask: short, so the first token is the measure. */
  latencyPrompt: 'def add(a, b):\n    return',
  latencyMaxTokens: 4,
  uptimeProbes: 5,
  /** Between uptime probes: spaced so that a series says something about time, kept short for a browser tab. */
  uptimeIntervalMs: 2_000,
  /** A program with its tests gets this long in the Python runner before it counts as failed. */
  pythonTimeoutMs: 10_000,
} as const

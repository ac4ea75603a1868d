/**
 * Every error class of Modelex, by domain. Importing this module registers them all for `deserializeError`,
 * so any side of a worker or network boundary that imports it rebuilds errors with their class.
 */
export * from './base.ts'
export * from './engine.ts'
export * from './p2p.ts'
export * from './chain.ts'
export * from './autocomplete.ts'
export * from './gateway.ts'
export * from './payments.ts'
export * from './evaluator.ts'
export * from './sentiment.ts'
export * from './templates.ts'
export * from './jobs.ts'
export * from './oracle.ts'
export * from './history.ts'
export * from './operations.ts'
export * from './routing.ts'

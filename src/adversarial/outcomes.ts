/**
 * The adversarial suite's ledger: each attack records one line (the attack, what happened, the AI wei the honest
 * side lost and what the issue allows it to lose), appended to a JSON-lines file that `npm run test:adversarial`
 * prints and adds up. A test also fails by itself when the loss is above the allowance.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

export type AttackOutcome = { attack: string; outcome: string; lostWei: bigint; allowedWei: bigint }

export const OUTCOMES_FILE = resolve(import.meta.dirname, '../../.modelex/test-results/adversarial-outcomes.jsonl')

export function recordOutcome({ attack, outcome, lostWei, allowedWei }: AttackOutcome): void {
  const file = process.env['MODELEX_ADVERSARIAL_OUTCOMES'] ?? OUTCOMES_FILE
  mkdirSync(dirname(file), { recursive: true })
  appendFileSync(
    file,
    `${JSON.stringify({ attack, outcome, lostWei: lostWei.toString(), allowedWei: allowedWei.toString() })}\n`,
  )
}

export function parseOutcomes(text: string): AttackOutcome[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const v = JSON.parse(line) as { attack: string; outcome: string; lostWei: string; allowedWei: string }
      return { attack: v.attack, outcome: v.outcome, lostWei: BigInt(v.lostWei), allowedWei: BigInt(v.allowedWei) }
    })
}

/**
 * A relay that forges attestations in its cache answers, built from the real relay code (`startRelay`) with one rule
 * broken: serve only what the gate accepted. Its answers to `/modelex/attestations/1.0.0` hold, before each honest
 * attestation it cached, a copy that flatters the node (a perfect score) under a newer nonce and the evaluator's
 * original signature. Everything else (gossip, validation, circuit relay) is the honest relay's.
 */
import { decodeAttestation, encodeAttestation, SUITE_UNITS } from '../core/attestation.ts'
import type { LatestAttestationsSource } from '../p2p/latest-attestations.ts'
import { startRelay, type Relay, type RelayOptions } from '../server/programs/relay.ts'

/** Forged entries (a best score, nonce + 1, the original signature) ahead of each honest one. */
export function forgeLatestAttestations(honest: LatestAttestationsSource): LatestAttestationsSource {
  return {
    latest(query, nowS) {
      return honest.latest(query, nowS).flatMap((bytes) => {
        const { signed, domain } = decodeAttestation(bytes)
        const { attestation } = signed
        const best = SUITE_UNITS[attestation.suite].unit === 'ms' ? 0 : SUITE_UNITS[attestation.suite].max
        const forged = encodeAttestation(
          { ...signed, attestation: { ...attestation, score: best, nonce: attestation.nonce + 1 } },
          domain,
        )
        return [forged, bytes]
      })
    },
  }
}

export function startForgingRelay(options: Omit<RelayOptions, 'bendLatestAttestations'>): Promise<Relay> {
  return startRelay({ ...options, bendLatestAttestations: forgeLatestAttestations })
}

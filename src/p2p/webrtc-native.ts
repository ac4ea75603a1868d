/**
 * WebRTC in Node (node-datachannel, over libdatachannel): one race fixed on the side that makes the offer.
 *
 * The race. libdatachannel's `setRemoteDescription` hands the answer to ICE first and stores it (with the remote
 * certificate fingerprint) a moment later. The answering side already has our ICE candidates (libp2p trickles them
 * as soon as they exist), so it is checking us already: ICE connects inside that moment, its DTLS handshake arrives,
 * and the fingerprint check finds no remote description. The handshake fails ("DTLS alert: unknown CA"), the
 * connection closes, and `@libp2p/webrtc` waits out the dial timeout on a channel that never opens. On a loaded
 * machine this took a Node consumer's WebRTC dial down about one time in two; on a real network it is likelier still,
 * since the answer travels through the relay and the checks go straight.
 *
 * The fix. The offering side holds its own ICE candidates until the answer is applied, then sends them. Until then
 * the other side has no address of ours to check, so nothing connects before we can check its certificate. It costs
 * nothing measurable: our checks towards it start as soon as the answer and its candidates arrive, as before.
 * Browsers are not touched (their WebRTC stacks buffer an early handshake until the fingerprint is known).
 */

/** The part of node-datachannel's `RTCPeerConnection` polyfill this fix wraps. */
export type NativePeerConnectionClass = {
  prototype: {
    readonly signalingState: string
    dispatchEvent(event: Event): boolean
    setRemoteDescription(description: { type: string; sdp?: string }): Promise<void>
  }
}

const FIXED = Symbol.for('modelex.webrtc.offerCandidatesHeld')

/** The fix's switch, on unless turned off; `bench:p2p` turns it off for its rows without the fix, in the same run. */
export const NATIVE_WEBRTC_FIX = { holdOfferCandidates: true }

/**
 * Makes every `RTCPeerConnection` of this class that is waiting for an answer hold its `icecandidate` events until
 * `setRemoteDescription` has returned. Idempotent.
 */
export function holdOfferCandidatesUntilAnswered(PeerConnection: NativePeerConnectionClass): void {
  const prototype = PeerConnection.prototype as NativePeerConnectionClass['prototype'] & { [FIXED]?: true }
  if (prototype[FIXED]) return
  prototype[FIXED] = true
  const held = new WeakMap<object, Event[]>()
  const dispatch = prototype.dispatchEvent
  const setRemoteDescription = prototype.setRemoteDescription
  prototype.dispatchEvent = function (this: NativePeerConnectionClass['prototype'], event: Event) {
    const hold =
      NATIVE_WEBRTC_FIX.holdOfferCandidates &&
      event.type === 'icecandidate' &&
      this.signalingState === 'have-local-offer'
    if (!hold) return dispatch.call(this, event)
    const waiting = held.get(this)
    if (waiting) waiting.push(event)
    else held.set(this, [event])
    return true
  }
  prototype.setRemoteDescription = async function (this: NativePeerConnectionClass['prototype'], description) {
    try {
      await setRemoteDescription.call(this, description)
    } finally {
      const waiting = held.get(this) ?? []
      held.delete(this)
      for (const event of waiting) dispatch.call(this, event)
    }
  }
}

/** node-datachannel's polyfill, with the fix above applied. Node only: the browser build must never load it. */
export async function loadFixedNativeWebRtc(): Promise<void> {
  const name = 'node-datachannel/polyfill' // Not a literal: the browser build must not try to bundle a native module.
  const polyfill = (await import(/* @vite-ignore */ name)) as { RTCPeerConnection: NativePeerConnectionClass }
  holdOfferCandidatesUntilAnswered(polyfill.RTCPeerConnection)
}

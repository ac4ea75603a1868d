/**
 * The offering side's ICE candidates wait for the answer (webrtc-native.ts), with node-datachannel's real
 * `RTCPeerConnection` on loopback: none leaves before the answer is applied, all of them leave right after it, the
 * answering side is not held, and the two connect. Without the fix the first assertion fails: libdatachannel hands
 * the offer's candidates out as soon as it gathers them.
 */
import { cleanup } from 'node-datachannel'
import { RTCPeerConnection } from 'node-datachannel/polyfill'
import { afterAll, expect, test } from 'vitest'
import { until } from './testing.ts'
import { holdOfferCandidatesUntilAnswered, type NativePeerConnectionClass } from './webrtc-native.ts'

holdOfferCandidatesUntilAnswered(RTCPeerConnection as unknown as NativePeerConnectionClass)
holdOfferCandidatesUntilAnswered(RTCPeerConnection as unknown as NativePeerConnectionClass) // idempotent

afterAll(() => cleanup())

const LOOPBACK = { iceServers: [], bindAddress: '127.0.0.1' } as RTCConfiguration

test('the offering side sends no ICE candidate until the answer is applied, then all of them, once; the answering side is not held', async () => {
  const offerer = new RTCPeerConnection(LOOPBACK)
  const answerer = new RTCPeerConnection(LOOPBACK)
  try {
    const fromOfferer: RTCIceCandidate[] = []
    const fromAnswerer: RTCIceCandidate[] = []
    offerer.onicecandidate = ({ candidate }) => {
      if (candidate?.candidate) fromOfferer.push(candidate)
    }
    answerer.onicecandidate = ({ candidate }) => {
      if (candidate?.candidate) fromAnswerer.push(candidate)
    }
    const channel = offerer.createDataChannel('init')
    const opened = new Promise<void>((resolve) => channel.addEventListener('open', () => resolve()))

    const offer = await offerer.createOffer()
    await offerer.setLocalDescription(offer)
    await until(() => offerer.iceGatheringState === 'complete', 5_000, 'the offering side to gather its candidates')
    expect(fromOfferer).toEqual([]) // gathered, and held

    await answerer.setRemoteDescription(offer)
    const answer = await answerer.createAnswer()
    await answerer.setLocalDescription(answer)
    await until(() => fromAnswerer.length > 0, 5_000, 'a candidate from the answering side')
    expect(fromOfferer).toEqual([])

    await offerer.setRemoteDescription(answer)
    expect(fromOfferer.length).toBeGreaterThan(0) // released as soon as the answer is applied
    const released = fromOfferer.length
    for (const candidate of fromOfferer) await answerer.addIceCandidate(candidate)
    for (const candidate of fromAnswerer) await offerer.addIceCandidate(candidate)
    await opened
    expect(offerer.connectionState).toBe('connected')
    expect(fromOfferer.length).toBe(released) // each candidate once: nothing was held twice or sent again
  } finally {
    offerer.close()
    answerer.close()
  }
})

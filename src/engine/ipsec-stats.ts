/** ESP counters (`stack.stats.ipsec`): every ESP or policy drop increments exactly one. */
export function createIpsecStats() {
  return {
    /** ESP packets received / authenticated and delivered; sent. */
    rx: 0, delivered: 0, tx: 0,
    /** Inbound drops. */
    malformed: 0, noSa: 0, saExpired: 0, encapMismatch: 0, badSequence: 0, replayDuplicate: 0, replayTooOld: 0,
    authFailed: 0, badPadLength: 0, badPadding: 0, badNextHeader: 0, dummy: 0, tooBig: 0,
    /** Inbound policy: clear packets a protect policy required to be ESP, packets a discard policy dropped, ESP on the wrong SA. */
    unprotected: 0, inPolicyDiscard: 0, policyMismatch: 0,
    /** ESP-in-UDP (RFC 3948): NAT keepalives dropped, non-ESP-marker (IKE) packets passed to UDP. */
    natKeepalive: 0, ikeMarker: 0,
    /** Outbound drops: discard policy, no live SA for a protect policy, no room for ESP overhead. */
    outPolicyDiscard: 0, outNoSa: 0, outTooBig: 0,
    /** SAs that reached their soft/hard lifetime; SAs stopped because their sequence numbers ran out. */
    softExpired: 0, hardExpired: 0, seqExhausted: 0,
  };
}

export type IpsecStats = ReturnType<typeof createIpsecStats>;

/** Counters of a WireGuard device: the link counters plus one per outcome and drop reason. */
export interface WgStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  drops: number;
  initiationsSent: number;
  initiationsReceived: number;
  responsesSent: number;
  responsesReceived: number;
  cookieRepliesSent: number;
  cookieRepliesReceived: number;
  handshakesCompleted: number;
  handshakesFailed: number;
  handshakeErrors: number;
  keysZeroed: number;
  dataSent: number;
  dataReceived: number;
  keepalivesSent: number;
  keepalivesReceived: number;
  roams: number;
  stagedDrops: number;
  txNoPeer: number;
  txNoEndpoint: number;
  txTransportDrops: number;
  rxQueueDrops: number;
  /** Datagrams from a source no reply could reach (IPv4 0.0.0.0/8, RFC 1122 §3.2.1.3; IPv4 source port 0). */
  rxBadEndpoint: number;
  rxMalformed: number;
  rxNoIdentity: number;
  rxBadMac1: number;
  rxRateLimited: number;
  rxHandshakeReplay: number;
  rxHandshakeFlood: number;
  rxUnknownPeer: number;
  rxHandshakeInvalid: number;
  rxUnknownIndex: number;
  rxBadCookie: number;
  rxExpiredKey: number;
  rxBadAuth: number;
  rxReplay: number;
  rxBadPacket: number;
  rxBadSourceIp: number;
}

export function createWgStats(): WgStats {
  return {
    txFrames: 0, txBytes: 0, rxFrames: 0, rxBytes: 0, drops: 0,
    initiationsSent: 0, initiationsReceived: 0, responsesSent: 0, responsesReceived: 0,
    cookieRepliesSent: 0, cookieRepliesReceived: 0, handshakesCompleted: 0, handshakesFailed: 0, handshakeErrors: 0,
    keysZeroed: 0, dataSent: 0, dataReceived: 0, keepalivesSent: 0, keepalivesReceived: 0, roams: 0, stagedDrops: 0,
    txNoPeer: 0, txNoEndpoint: 0, txTransportDrops: 0, rxQueueDrops: 0, rxBadEndpoint: 0, rxMalformed: 0, rxNoIdentity: 0, rxBadMac1: 0,
    rxRateLimited: 0, rxHandshakeReplay: 0, rxHandshakeFlood: 0, rxUnknownPeer: 0, rxHandshakeInvalid: 0,
    rxUnknownIndex: 0, rxBadCookie: 0, rxExpiredKey: 0, rxBadAuth: 0, rxReplay: 0, rxBadPacket: 0, rxBadSourceIp: 0,
  };
}

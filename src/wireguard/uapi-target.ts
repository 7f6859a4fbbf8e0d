/**
 * The device as a UAPI target: what `wg show`/`wg set` read and change
 * through uapi.ts, mapped onto the device's control-plane methods.
 */
import { Errno, StackError } from '../engine/errno.js';
import type { WireGuardDevice } from './device.js';
import type { UapiDeviceState, UapiPeerHandle, UapiTarget } from './uapi.js';

/**
 * Wrap `device`. `rebind` is called when `listen_port` changes (the outer
 * transport is re-opened by its owner); without it a change is refused with
 * EOPNOTSUPP.
 */
export function uapiTargetFor(device: WireGuardDevice, rebind?: (port: number) => void): UapiTarget {
  const handle = (pub: Uint8Array): UapiPeerHandle => ({
    setPresharedKey: (key) => {
      const p = device.findPeer(pub);
      if (p !== null) device.setPresharedKey(p, key);
    },
    setEndpoint: (address, port) => {
      const p = device.findPeer(pub);
      if (p !== null) device.setEndpoint(p, address, port);
    },
    setPersistentKeepalive: (seconds) => {
      const p = device.findPeer(pub);
      if (p !== null) device.setPersistentKeepalive(p, seconds);
    },
    replaceAllowedIps: () => {
      const p = device.findPeer(pub);
      if (p !== null) device.clearAllowedIps(p);
    },
    addAllowedIp: (address, prefixLength) => {
      const p = device.findPeer(pub);
      if (p !== null) device.addAllowedIp(p, address, prefixLength);
    },
  });
  return {
    suite: device.suite.name,
    getState(): UapiDeviceState {
      return {
        privateKey: device.identity === null ? null : device.identity.privateKey.slice(),
        listenPort: device.listenPort,
        fwmark: device.fwmark,
        peers: device.activePeers().map((p) => device.describePeer(p)),
      };
    },
    setPrivateKey: (key) => device.setPrivateKey(key),
    setListenPort(port: number): void {
      if (port === device.listenPort) return;
      if (rebind === undefined) throw new StackError(Errno.EOPNOTSUPP, 'bind', 'listen port cannot change on this transport');
      rebind(port);
    },
    setFwmark(mark: number): void {
      // Recorded for `wg show`; a user-space socket has no fwmark to apply.
      device.fwmark = mark;
    },
    removeAllPeers(): void {
      for (const p of device.activePeers()) device.removePeer(p.remotePublicKey);
    },
    peer(publicKey: Uint8Array, updateOnly: boolean): UapiPeerHandle | null {
      if (device.findPeer(publicKey) === null) {
        if (updateOnly) return null;
        device.addPeer({ publicKey });
      }
      return handle(publicKey.slice());
    },
    removePeer(publicKey: Uint8Array): void {
      device.removePeer(publicKey);
    },
  };
}

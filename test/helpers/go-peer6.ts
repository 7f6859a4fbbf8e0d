/**
 * The set-up the IPv6-endpoint interop tests against wireguard-go share: two
 * namespaces joined by a veth with IPv6 outer addresses (no DAD wait), and
 * wireguard-go in B with one peer (no endpoint: it learns ours from the
 * handshake) and its IPv4 inner address up.
 */
import { Netns } from './netns.js';
import { WireGuardGo, createVeth, type Veth } from './wireguard-go.js';

/** What {@link openGoPeer6} made so far; {@link closeGoPeer6} removes it. */
export interface GoPeer6Lab {
  a: Netns | null;
  b: Netns | null;
  veth: Veth | null;
  go: WireGuardGo | null;
}

export interface GoPeer6Options {
  /** veth end names in A and B, with IPv4 (unused by the tunnel) and IPv6 outer addresses. */
  vethA: string;
  vethB: string;
  cidr4A: string;
  cidr4B: string;
  outer6A: string;
  outer6B: string;
  /** wireguard-go's interface in B, its private key (base64), port and IPv4 inner address/prefix. */
  ifname: string;
  goPrivate: string;
  listenPort: number;
  inner4: string;
  /** The one peer: our public key (base64) and its AllowedIPs. */
  peerPublic: string;
  allowedIps: string;
}

/** Build the lab into `lab` step by step, so the caller's after() can close whatever exists even when a step fails. */
export async function openGoPeer6(lab: GoPeer6Lab, o: GoPeer6Options): Promise<{ a: Netns; b: Netns; go: WireGuardGo }> {
  const a = lab.a = Netns.create();
  const b = lab.b = Netns.create();
  lab.veth = createVeth({ a: o.vethA, b: o.vethB, aCidr: o.cidr4A, bCidr: o.cidr4B, nsA: a, nsB: b });
  a.execSync('ip', ['-6', 'address', 'add', `${o.outer6A}/64`, 'dev', o.vethA, 'nodad']);
  b.execSync('ip', ['-6', 'address', 'add', `${o.outer6B}/64`, 'dev', o.vethB, 'nodad']);
  const go = lab.go = await WireGuardGo.start(b, o.ifname);
  await go.setconf(['[Interface]', `PrivateKey = ${o.goPrivate}`, `ListenPort = ${o.listenPort}`, '',
    '[Peer]', `PublicKey = ${o.peerPublic}`, `AllowedIPs = ${o.allowedIps}`, ''].join('\n'));
  await go.up(o.inner4);
  return { a, b, go };
}

/** Stop wireguard-go and remove the veth and both namespaces, whatever of them exists. */
export function closeGoPeer6(lab: GoPeer6Lab): void {
  try {
    lab.go?.stop();
  } finally {
    lab.veth?.remove();
    lab.a?.remove();
    lab.b?.remove();
  }
}

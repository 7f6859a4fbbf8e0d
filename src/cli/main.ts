/** The `wirestack` command. */
import { readFileSync } from 'node:fs';
import { demoOptions, runDemo } from './demo.js';
import { runWgDemo, wgDemoOptions, wgDemoPassed } from './demo-wg.js';
import { UsageError } from './args.js';
import { runTap, tapOptions } from './tap.js';
import { runUp, upOptions } from './up.js';
import { runKeyCommand } from './keys.js';
import { runDown, runShow } from './control.js';
import { runOptions, runRun } from './run.js';

const usage = `usage: wirestack <command> [options]

commands:
  demo [--suite standard|fips] [--pcap FILE] [--pings N] [--tcp-mib N] [--json]
        two stacks joined by WireGuard over host loopback UDP (no root, no config): handshake,
        ping, HTTP and HTTPS, a bulk TCP transfer with its throughput, and a pcap of the
        tunnel's inner packets (raw IP) (the default command)
  demo --link memory [--pcap FILE] [--loss P] [--delay MS] [--pings N] [--datagrams N] [--tcp-mib N] [--json]
        two stacks on an in-memory Ethernet cable: ARP, ping, UDP echo, a TCP transfer, HTTP and
        HTTPS, pcap capture
  up CONFIG [--name NAME] [--json] [--no-uapi] [--run-dir DIR] [--stats-interval S] [--pcap FILE]
     [--crypt-threads N] [--no-udp-offload] [CAPACITY]
        bring a wg-quick file up as a user-space WireGuard endpoint (host UDP, no root) with its
        [Socks5] and [HTTP] proxies and [TCP|UDP][Client|Server]Tunnel forwards; ping on the tunnel address is
        answered; events (handshakes, per-minute transfer counters) are printed, one JSON object per
        line with --json; the UAPI socket RUN_DIR/NAME.sock lets wg(8) (RUN_DIR /var/run/wireguard)
        and wirestack show/down use it (unless --no-uapi); SIGUSR1 prints the counters now; warns when
        CONFIG is world accessible; runs until SIGINT/SIGTERM (or wirestack down NAME).
        Exit 2: bad config, 1: could not start. Default capacity: 4096 connections, 256 buffer pairs of 64k
  up CONFIG --tun [--name NAME] [--json] [--no-uapi] [--run-dir DIR] [--stats-interval S]
     [--crypt-threads N] [--no-udp-offload]
        WireGuard for the host (root): the device on a TUN device named after the file, set up as
        wg-quick up does (Address, MTU or path MTU - 80, a route per AllowedIPs, 0.0.0.0/0 through
        fwmark + ip rules, Table = off|N, DNS via resolvconf, Pre/PostUp/Down hooks with %i); the
        outer UDP on a host socket; wg show/set work; SIGINT/SIGTERM or "ip link delete NAME"
        remove everything it added. Exit 1 with one line when a step fails (rolled back)
        Both: --crypt-threads N runs the tunnel's ChaCha20-Poly1305 in batches on N threads (the JS
        thread included; default one per core, at most 8; 0: packet by packet); --no-udp-offload
        turns UDP GSO/GRO off on the host socket
  show [NAME] [--run-dir DIR]
        what wg show prints, read from the UAPI socket of NAME (default: every interface in RUN_DIR)
  down NAME [--run-dir DIR]
        stop the wirestack up that owns NAME (SIGTERM through its pid file RUN_DIR/NAME.pid) and wait for it
        RUN_DIR: /var/run/wireguard as root, else $XDG_RUNTIME_DIR/wireguard, else /tmp/wirestack-UID
  run CONFIG [--] node APP [ARGS...]
        run an unmodified Node program with its network through the wg-quick file's tunnel
        (WIRESTACK_CONFIG=CONFIG node --import wirestack/register APP): addresses in the peers'
        AllowedIPs through the tunnel, names through its DNS, the rest and loopback on the host;
        listen() on every interface also listens on the tunnel address. Exit code: the program's
  genkey [--suite fips]   print a new private key (base64), as wg genkey
  pubkey [--suite fips]   read a private key on stdin, print its public key (fips: 65 bytes, needs
                          --suite fips: private keys of both suites are 32 bytes)
  genpsk                  print a new preshared key
  tap --dev NAME (--address A/len... [--gateway G]... | --dhcp) [--host-address H/len] [--netns NS]
      [--echo PORT] [--discard PORT] [--source PORT] [--http PORT[:DIR]] [--https PORT[:DIR] [--cert F --key F]]
      [--pcap FILE] [--dns SERVER[,SERVER]] [--esp FILE] [--json] [CAPACITY]
      [--headers-timeout S] [--request-timeout S] [--keep-alive-timeout S] [--idle-timeout S] [--stats-interval S]
      [--no-syn-responder] [--no-egress-syn-responder]
        run the stack on a Linux TAP device (root) with TCP/UDP echo, TCP discard, a TCP source (an
        endless stream to each client, to measure the stack as sender), HTTP and HTTPS (self-signed via
        openssl without --cert/--key; PORT:DIR serves files with Range and ETag) until SIGINT/SIGTERM; ping is answered;
        --netns moves the device into an existing namespace; --dns A[,B] sets the DNS servers;
        --esp FILE loads IPsec ESP SAs and policies (JSON, XFRM algorithm names);
        --dhcp configures the interface by DHCP (RELEASE on stop). --address repeats: one IPv4 and any
        IPv6 prefixes (fd00::2/64, static, beside the link-local one); --gateway takes one per family.
        HTTP(S) closes connections without complete request headers (or TLS handshake) within
        --headers-timeout (60 s), without a complete request within --request-timeout (300 s, 0 none),
        idle after a response for --keep-alive-timeout (5 s, Node adds 1 s; 0 none); echo and discard close
        connections idle for --idle-timeout (300 s, 0 never); such closes are counted and printed
        once per cause every 5 s; --stats-interval S prints the TCP counters every S s (and at exit, and on SIGUSR1).
        under a SYN flood the kernel answers SYNs with the stack's cookies at the TAP's egress (eBPF:
        root, Linux >= 6.6, clang at build), and the TAP's RX thread answers the rest itself;
        --no-egress-syn-responder leaves them all to the RX thread, --no-syn-responder to the stack.
        Default capacity: 4096 connections, 512 buffer pairs of 128k
  CAPACITY of tap and up, sized through the memory plan (printed at start):
      --max-connections N   TCP connections at once (1..32703)
      --tcp-buffers N       send+receive buffer pairs, held only while a connection has data
      --tcp-buffer-size B   bytes of each send and each receive buffer (k, m suffixes)
      --syn-backlog N       half-open connections held (all listeners); beyond, SYN cookies (default 1024)
  version   print the version
  help      this text`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `--link wireguard|memory` picks the demo; the other flags are that demo's. */
function demoLink(argv: string[]): { link: 'wireguard' | 'memory'; args: string[] } {
  const args: string[] = [];
  let link = 'wireguard';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--link') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError('--link needs a value');
      link = v;
    } else if (a.startsWith('--link=')) {
      link = a.slice(7);
    } else {
      args.push(a);
    }
  }
  if (link !== 'wireguard' && link !== 'memory') throw new UsageError(`--link must be wireguard or memory, got '${link}'`);
  return { link, args };
}

const COMMANDS = ['demo', 'up', 'run', 'show', 'down', 'genkey', 'pubkey', 'genpsk', 'tap', 'version', 'help'];

/**
 * The part of the usage text about `command`: its entries (a line starting
 * with the command name at the entry indent, with their continuation lines)
 * and, for tap and up, the CAPACITY block they share.
 */
export function commandUsage(command: string): string {
  const lines = usage.split('\n');
  const out: string[] = [];
  let take = false;
  for (const line of lines.slice(3)) {
    const m = /^  ([A-Za-z]+)\b/.exec(line);
    if (m !== null) take = m[1] === command || (m[1] === 'CAPACITY' && (command === 'tap' || command === 'up'));
    if (take) out.push(line);
  }
  return `usage: wirestack ${command} [options]\n\n${out.join('\n')}`;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'demo', ...rest] = argv;
  // `wirestack CMD --help` (or -h) anywhere among CMD's arguments: that command's usage, exit 0.
  if (COMMANDS.includes(command) && command !== 'help' && command !== 'version'
    && rest.slice(0, rest.includes('--') ? rest.indexOf('--') : undefined).some((a) => a === '--help' || a === '-h')) {
    console.log(commandUsage(command));
    return 0;
  }
  try {
    switch (command) {
      case 'demo': {
        const { link, args } = demoLink(rest);
        if (link === 'wireguard') return wgDemoPassed(await runWgDemo(wgDemoOptions(args))) ? 0 : 1;
        const report = await runDemo(demoOptions(args));
        return report.pings.received > 0 && report.udp.echoed > 0 && report.tcp.intact
          && report.http.status === 200 && report.https.status === 200 ? 0 : 1;
      }
      case 'up':
        return await runUp(upOptions(rest));
      case 'show':
        return await runShow(rest);
      case 'down':
        return await runDown(rest);
      case 'run':
        return await runRun(runOptions(rest));
      case 'genkey':
      case 'pubkey':
      case 'genpsk':
        return await runKeyCommand(command, rest);
      case 'tap':
        return await runTap(tapOptions(rest));
      case 'version':
      case '--version':
        console.log(version());
        return 0;
      case 'help':
      case '--help':
      case '-h':
        console.log(usage);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      // One line and where to get help, as CLI conventions go (exit 2: usage error).
      const help = COMMANDS.includes(command) && command !== 'help' && command !== 'version'
        ? `wirestack ${command} --help` : 'wirestack help';
      console.error(`wirestack: ${e.message} (see '${help}')`);
      return 2;
    }
    throw e;
  }
}

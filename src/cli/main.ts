/** The `wirestack` command. */
import { readFileSync } from 'node:fs';
import { demoOptions, runDemo } from './demo.js';
import { UsageError } from './args.js';
import { runTap, tapOptions } from './tap.js';

const usage = `usage: wirestack <command> [options]

commands:
  demo [--pcap FILE] [--loss P] [--delay MS] [--pings N] [--datagrams N] [--tcp-mib N] [--json]
        two stacks on an in-memory cable: ARP, ping, UDP echo, a TCP transfer, HTTP and HTTPS,
        pcap capture (the default)
  tap --dev NAME --address A/len [--gateway G] [--host-address H/len] [--netns NS]
      [--echo PORT] [--discard PORT] [--http PORT[:DIR]] [--https PORT[:DIR] [--cert F --key F]]
      [--pcap FILE] [--dns SERVER[,SERVER]] [--esp FILE] [--json]
        run the stack on a Linux TAP device (root) with TCP/UDP echo, TCP discard, HTTP and HTTPS
        (self-signed via openssl without --cert/--key) until SIGINT/SIGTERM; ping is answered;
        --netns moves the device into an existing namespace; --dns A[,B] sets the DNS servers;
        --esp FILE loads IPsec ESP SAs and policies (JSON, XFRM algorithm names);
        --dhcp: not implemented yet
  version   print the version
  help      this text`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'demo', ...rest] = argv;
  try {
    switch (command) {
      case 'demo': {
        const report = await runDemo(demoOptions(rest));
        return report.pings.received > 0 && report.udp.echoed > 0 && report.tcp.intact
          && report.http.status === 200 && report.https.status === 200 ? 0 : 1;
      }
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
      console.error(`wirestack: ${e.message}\n\n${usage}`);
      return 2;
    }
    throw e;
  }
}

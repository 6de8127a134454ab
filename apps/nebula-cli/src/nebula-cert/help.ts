/** Usage texts, byte-for-byte as nebula-cert 1.6.1 prints them (program name: `nebula-cert`). */
import { GoFlagSet } from './go-flag.js';

export const PROGRAM = 'nebula-cert';
export const VERSION = '1.6.1';

export const SUMMARIES = {
  ca: 'ca <flags>: create a self signed certificate authority',
  keygen:
    'keygen <flags>: create a public/private key pair. the public key can be passed to `nebula-cert sign`',
  sign: 'sign <flags>: create and sign a certificate',
  print: 'print <flags>: prints details about a certificate',
  verify: "verify <flags>: verifies a certificate isn't expired and was signed by a trusted authority.",
} as const;

export type Mode = keyof typeof SUMMARIES;

export function isMode(s: string): s is Mode {
  return Object.hasOwn(SUMMARIES, s);
}

/** Top-level usage; with `error`, prefixed by `Error: ...` and a blank line. */
export function globalHelp(error = ''): string {
  let out = error === '' ? '' : `Error: ${error}\n\n`;
  out += `Usage of ${PROGRAM} <global flags> <mode>:\n`;
  out += '  Global flags:\n';
  out += '    -version: Prints the version\n';
  out += '    -h, -help: Prints this help message\n';
  out += '\n';
  out += '  Modes:\n';
  for (const s of Object.values(SUMMARIES)) out += `    ${s}\n`;
  return out;
}

const RANGE_IPS =
  'Optional: comma separated list of ipv4 address and network in CIDR notation. This will limit which ipv4 addresses and networks subordinate certs can use for ip addresses';
const RANGE_SUBNETS =
  'Optional: comma separated list of ipv4 address and network in CIDR notation. This will limit which ipv4 addresses and networks subordinate certs can use in subnets';
const QR = 'Optional: output a qr code image (png) of the certificate';
const UNITS = 'Valid time units are seconds: "s", minutes: "m", hours: "h"';

/** One FlagSet factory per mode: the same definitions drive parsing and the help text. */
export const FLAGS: Record<Mode, () => GoFlagSet> = {
  ca: () =>
    new GoFlagSet()
      .string('name', '', 'Required: name of the certificate authority')
      .duration(
        'duration',
        8760n * 3_600_000_000_000n,
        '8760h0m0s',
        `Optional: amount of time the certificate should be valid for. ${UNITS}`,
      )
      .string('out-key', 'ca.key', 'Optional: path to write the private key to')
      .string('out-crt', 'ca.crt', 'Optional: path to write the certificate to')
      .string('out-qr', '', QR)
      .string(
        'groups',
        '',
        'Optional: comma separated list of groups. This will limit which groups subordinate certs can use',
      )
      .string('ips', '', RANGE_IPS)
      .string('subnets', '', RANGE_SUBNETS),
  keygen: () =>
    new GoFlagSet()
      .string('out-key', '', 'Required: path to write the private key to')
      .string('out-pub', '', 'Required: path to write the public key to'),
  sign: () =>
    new GoFlagSet()
      .string('ca-key', 'ca.key', 'Optional: path to the signing CA key')
      .string('ca-crt', 'ca.crt', 'Optional: path to the signing CA cert')
      .string('name', '', 'Required: name of the cert, usually a hostname')
      .string('ip', '', 'Required: ipv4 address and network in CIDR notation to assign the cert')
      .duration(
        'duration',
        0n,
        '0s',
        `Optional: how long the cert should be valid for. The default is 1 second before the signing cert expires. ${UNITS}`,
      )
      .string('in-pub', '', 'Optional (if out-key not set): path to read a previously generated public key')
      .string('out-key', '', 'Optional (if in-pub not set): path to write the private key to')
      .string('out-crt', '', 'Optional: path to write the certificate to')
      .string('out-qr', '', QR)
      .string('groups', '', 'Optional: comma separated list of groups')
      .string(
        'subnets',
        '',
        'Optional: comma separated list of ipv4 address and network in CIDR notation. Subnets this cert can serve for',
      ),
  print: () =>
    new GoFlagSet()
      .bool('json', 'Optional: outputs certificates in json format')
      .string('out-qr', '', QR)
      .string('path', '', 'Required: path to the certificate'),
  verify: () =>
    new GoFlagSet()
      .string('ca', '', 'Required: path to a file containing one or more ca certificates')
      .string('crt', '', 'Required: path to a file containing a single certificate'),
};

export function modeHelp(mode: Mode): string {
  return `Usage of ${PROGRAM} ${SUMMARIES[mode]}\n${FLAGS[mode]().defaults()}`;
}

/**
 * PEM as Go's `encoding/pem` reads and writes it: `Decode` skips text before a block, tolerates
 * headers and blank tails, skips malformed blocks, and returns the bytes after the block.
 */

export const CERT_BANNER = 'NEBULA CERTIFICATE';
export const X25519_PRIVATE_KEY_BANNER = 'NEBULA X25519 PRIVATE KEY';
export const X25519_PUBLIC_KEY_BANNER = 'NEBULA X25519 PUBLIC KEY';
export const ED25519_PRIVATE_KEY_BANNER = 'NEBULA ED25519 PRIVATE KEY';
export const ED25519_PUBLIC_KEY_BANNER = 'NEBULA ED25519 PUBLIC KEY';

export interface PemBlock {
  readonly type: string;
  readonly bytes: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

const BEGIN = '-----BEGIN ';
const END = '\n-----END ';
const DASHES = '-----';
const utf8 = new TextDecoder();

export function pemText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : utf8.decode(input);
}

function getLine(s: string, from: number): [line: string, next: number] {
  let i = s.indexOf('\n', from);
  let j: number;
  if (i < 0) {
    i = s.length;
    j = i;
  } else {
    j = i + 1;
    if (i > from && s.charCodeAt(i - 1) === 13) i--;
  }
  let e = i;
  while (e > from && (s.charCodeAt(e - 1) === 32 || s.charCodeAt(e - 1) === 9)) e--;
  return [s.slice(from, e), j];
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Go's base64.StdEncoding: padded, CR/LF ignored (spaces and tabs were stripped by pem). */
function decodeBase64(s: string): Uint8Array | null {
  const clean = s.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !B64.test(clean)) return null;
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/**
 * Decodes the first valid PEM block. Returns `null` (and the whole input as `rest`) when there is
 * none, like `pem.Decode`.
 */
export function pemDecode(input: string | Uint8Array): { block: PemBlock | null; rest: string } {
  const data = pemText(input);
  let pos = 0;
  for (;;) {
    if (data.startsWith(BEGIN, pos)) pos += BEGIN.length;
    else {
      const i = data.indexOf(`\n${BEGIN}`, pos);
      if (i < 0) return { block: null, rest: data };
      pos = i + 1 + BEGIN.length;
    }
    let typeLine: string;
    [typeLine, pos] = getLine(data, pos);
    if (!typeLine.endsWith(DASHES)) continue;
    const type = typeLine.slice(0, -DASHES.length);
    const headers: Record<string, string> = {};
    let headerCount = 0;
    let truncated = false;
    for (;;) {
      if (pos >= data.length) {
        truncated = true;
        break;
      }
      const [line, next] = getLine(data, pos);
      const colon = line.indexOf(':');
      if (colon < 0) break;
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      headerCount++;
      pos = next;
    }
    if (truncated) return { block: null, rest: data };
    let endIndex: number;
    let trailer: number;
    if (headerCount === 0 && data.startsWith(END.slice(1), pos)) {
      endIndex = pos;
      trailer = pos + END.length - 1;
    } else {
      endIndex = data.indexOf(END, pos);
      trailer = endIndex + END.length;
    }
    if (endIndex < 0) continue;
    const want = type + DASHES;
    if (data.length - trailer < want.length) continue;
    if (!data.startsWith(want, trailer)) continue;
    const [tail] = getLine(data, trailer + want.length);
    if (tail.length !== 0) continue;
    const bytes = decodeBase64(data.slice(pos, endIndex).replace(/[ \t]/g, ''));
    if (bytes === null) continue;
    const [, rest] = getLine(data, endIndex + END.length - 1);
    return { block: { type, bytes, headers }, rest: data.slice(rest) };
  }
}

/** Every block, in order (used for bundles). */
export function pemDecodeAll(input: string | Uint8Array): PemBlock[] {
  const out: PemBlock[] = [];
  let rest = pemText(input);
  for (;;) {
    const r = pemDecode(rest);
    if (r.block === null) return out;
    out.push(r.block);
    rest = r.rest;
  }
}

/** `pem.EncodeToMemory` without headers: 64-column base64, trailing newline. */
export function pemEncode(type: string, bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${type}-----\n${body}-----END ${type}-----\n`;
}

/**
 * A tiny TCP sender/receiver run with `node` inside the namespaces, so a transfer over the overlay
 * can be checked end to end by sha256 without depending on netcat flavours.
 *   node script.mjs recv <host> <port>            -> prints {"sha":..,"bytes":..}
 *   node script.mjs send <host> <port> <bytes> <deadlineMs> -> prints {"sha":..,"bytes":..,"ms":..}
 */
export const TCP_TRANSFER_SCRIPT = String.raw`
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
const [mode, host, portText, bytesText, deadlineText] = process.argv.slice(2);
const port = Number(portText);
if (mode === 'recv') {
  const server = net.createServer((sock) => {
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d) => { h.update(d); n += d.length; });
    sock.on('end', () => {
      process.stdout.write(JSON.stringify({ sha: h.digest('hex'), bytes: n }) + '\n');
      sock.end();
      server.close();
    });
    sock.on('error', (e) => { console.error(String(e)); process.exit(2); });
  });
  server.listen(port, host);
} else if (mode === 'send') {
  const total = Number(bytesText);
  const deadline = Date.now() + Number(deadlineText);
  const attempt = () => {
    const sock = net.connect(port, host);
    const h = createHash('sha256');
    let started = 0;
    sock.on('connect', () => {
      started = Date.now();
      let left = total;
      const pump = () => {
        while (left > 0) {
          const chunk = randomBytes(Math.min(65536, left));
          left -= chunk.length;
          h.update(chunk);
          if (!sock.write(chunk)) { sock.once('drain', pump); return; }
        }
        sock.end();
      };
      pump();
    });
    sock.on('close', (hadError) => {
      if (!hadError && started) {
        process.stdout.write(JSON.stringify({ sha: h.digest('hex'), bytes: total, ms: Date.now() - started }) + '\n');
      }
    });
    sock.on('error', (e) => {
      if (!started && Date.now() < deadline) { setTimeout(attempt, 200); return; }
      console.error(String(e));
      process.exit(2);
    });
  };
  attempt();
} else {
  console.error('usage: recv|send');
  process.exit(64);
}
`;

import { execFileSync } from 'node:child_process';
import { requireRoot } from '@nebula-ts/e2e';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUdpError, openUdpGroup, openUdpSocket, UdpError, type UdpSocket } from '../src/index.js';
import { requireBuiltDist } from './helpers.js';

const open: UdpSocket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function caught(fn: () => unknown): UdpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UdpError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('errors', () => {
  it('EADDRINUSE names code, errno, syscall and the address (IPv4 and IPv6)', () => {
    for (const host of ['127.0.0.1', '::1']) {
      const a = openUdpSocket({ host });
      open.push(a);
      const e = caught(() => open.push(openUdpSocket({ host, port: a.port })));
      expect(e.code).toBe('ERR_UDP_ADDRESS_IN_USE');
      expect(e.sysCode).toBe('EADDRINUSE');
      expect(e.errno).toBe(98);
      expect(e.syscall).toBe('bind');
      const where = host === '::1' ? `[::1]:${a.port}` : `127.0.0.1:${a.port}`;
      expect(e.address).toBe(where);
      expect(e.message).toContain('bind EADDRINUSE');
      expect(e.message).toContain(where);
      expect(isUdpError(e)).toBe(true);
    }
  });

  it('a reusePort socket cannot join a port held without SO_REUSEPORT, and a failed group closes its sockets', () => {
    const a = openUdpSocket({ host: '127.0.0.1' });
    open.push(a);
    expect(() => openUdpGroup({ host: '127.0.0.1', port: a.port, count: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_UDP_ADDRESS_IN_USE' }),
    );
    const g = openUdpGroup({ host: '127.0.0.1', port: 0, count: 2 });
    const fds = g.sockets.map((s) => s.fd);
    g.close();
    expect(fds.every((fd) => fd >= 0)).toBe(true);
    expect(g.sockets.every((s) => s.closed)).toBe(true);
  });

  it('an address that is not local gives EADDRNOTAVAIL', () => {
    const e = caught(() => open.push(openUdpSocket({ host: '198.51.100.1' })));
    expect(e.code).toBe('ERR_UDP_ADDRESS_NOT_AVAILABLE');
    expect(e.sysCode).toBe('EADDRNOTAVAIL');
    expect(e.message).toContain('198.51.100.1:0');
  });

  it('bad hosts throw TypeError, bad ports / batch / count RangeError, before any syscall', () => {
    expect(() => openUdpSocket({ host: 'nebula.example' })).toThrow(TypeError);
    expect(() => openUdpSocket({ host: '1.2.3.4.5' })).toThrow(
      expect.objectContaining({ code: 'ERR_UDP_INVALID_ADDRESS' }),
    );
    expect(() => openUdpSocket({ port: 65536 })).toThrow(RangeError);
    expect(() => openUdpSocket({ port: 1.5 })).toThrow(RangeError);
    expect(() => openUdpSocket({ batch: 0 })).toThrow(RangeError);
    expect(() => openUdpSocket({ readBuffer: -5 })).toThrow(RangeError);
    expect(() => openUdpGroup({ count: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_UDP_INVALID_ARG' }),
    );
  });

  describe('as an unprivileged user (setpriv to nobody)', () => {
    let entry = '';
    beforeAll(() => {
      requireRoot();
      entry = requireBuiltDist();
    });

    it('binding a port below 1024 gives EACCES; buffers fall back to SO_RCVBUF on EPERM', () => {
      const script = `
        const { openUdpSocket } = await import(${JSON.stringify(entry)});
        const out = {};
        try { openUdpSocket({ host: '127.0.0.1', port: 999 }); } catch (e) {
          out.err = { name: e.name, code: e.code, sysCode: e.sysCode, syscall: e.syscall, errno: e.errno, message: e.message };
        }
        const s = openUdpSocket({ host: '127.0.0.1', readBuffer: 64 << 20, writeBuffer: 64 << 20 });
        out.buffers = s.buffers;
        s.close();
        console.log(JSON.stringify(out));`;
      const text = execFileSync(
        'setpriv',
        [
          '--reuid=65534',
          '--regid=65534',
          '--clear-groups',
          process.execPath,
          '--input-type=module',
          '-e',
          script,
        ],
        { encoding: 'utf8', timeout: 15_000 },
      );
      const out = JSON.parse(text) as {
        err: Record<string, unknown>;
        buffers: { readBuffer: number; writeBuffer: number };
      };
      expect(out.err).toMatchObject({
        name: 'UdpError',
        code: 'ERR_UDP_PERMISSION',
        sysCode: 'EACCES',
        syscall: 'bind',
        errno: 13,
      });
      expect(out.err.message).toContain('127.0.0.1:999');
      // Without CAP_NET_ADMIN the request is capped at net.core.{r,w}mem_max (doubled).
      const rmax = Number(execFileSync('cat', ['/proc/sys/net/core/rmem_max'], { encoding: 'utf8' }));
      const wmax = Number(execFileSync('cat', ['/proc/sys/net/core/wmem_max'], { encoding: 'utf8' }));
      expect(out.buffers).toEqual({
        readBuffer: Math.min(2 * rmax, 128 << 20),
        writeBuffer: Math.min(2 * wmax, 128 << 20),
      });
    });
  });
});

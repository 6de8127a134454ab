import { describe, expect, it } from 'vitest';
import { CidrSet, coalesceInto, NebulaMeta, parseIp4, RemoteList, UdpAddr } from '../src/index.js';

const ip = parseIp4;
const A = (s: string): UdpAddr => UdpAddr.parse(s);

describe('RemoteList (lighthouse.md §4)', () => {
  it('sorts as 1.6.1: preferred, v6 before v4, public before RFC1918, bytes, port; de-duplicates', () => {
    const rl = new RemoteList(ip('10.42.0.3'));
    rl.learnRemote(ip('10.42.0.3'), A('192.168.1.5:4242'));
    const m = new NebulaMeta();
    for (const s of [
      '10.0.0.1:1',
      '8.8.8.8:2',
      '8.8.8.8:1',
      '192.168.1.5:4242',
      '172.16.0.1:9',
      '1.1.1.1:5',
    ]) {
      const x = A(s);
      m.details.addIp4(x.w0, x.port);
    }
    m.details.addIp6(0x20010db8, 0, 0, 2, 7);
    m.details.addIp6(0x20010db8, 0, 0, 1, 7);
    rl.setReportedFromMeta(ip('10.42.0.1'), m.details);
    expect(rl.copyAddrs().map(String)).toEqual([
      '[2001:db8::1]:7',
      '[2001:db8::2]:7',
      '1.1.1.1:5',
      '8.8.8.8:1',
      '8.8.8.8:2',
      '10.0.0.1:1',
      '172.16.0.1:9',
      '192.168.1.5:4242',
    ]);
    const pref = CidrSet.parse(['172.16.0.0/12']);
    expect(rl.copyAddrs(pref).map(String)[0]).toBe('172.16.0.1:9');
  });

  it('blocked addresses are excluded until reset; writeCandidate fills node slots', () => {
    const rl = new RemoteList(1);
    rl.learnRemote(1, A('1.2.3.4:5'));
    rl.prependReported(9, A('5.6.7.8:9'));
    expect(rl.len()).toBe(2);
    rl.blockRemote(A('1.2.3.4:5'));
    expect(rl.copyAddrs().map(String)).toEqual(['5.6.7.8:9']);
    rl.resetBlockedRemotes();
    expect(rl.len()).toBe(2);
    const slots = new Uint32Array(12);
    expect(rl.writeCandidate(1, slots, 1)).toBe(true);
    expect(Array.from(slots.subarray(6))).toEqual([4, 9, ip('5.6.7.8'), 0, 0, 0]);
    expect(rl.writeCandidate(2, slots, 0)).toBe(false);
  });

  it('keeps at most 10 per owner and family, filters with the check, replaces the previous report', () => {
    const rl = new RemoteList(ip('10.42.0.3'));
    const m = new NebulaMeta();
    for (let i = 1; i <= 14; i++) m.details.addIp4(ip(`1.0.0.${i}`), 4242);
    m.details.addIp4(ip('10.42.0.9'), 1);
    for (let i = 0; i < 12; i++) m.details.addRelay(i + 100);
    // check runs on the first 10 only (Go slices before filtering)
    rl.setReportedFromMeta(7, m.details, (_v, a) => a.w0 !== ip('1.0.0.2'));
    const c = rl.ownerCache(7)!;
    expect(c.reported4Count).toBe(9);
    expect(c.relayCount).toBe(10);
    const before = c.reported4[0];
    m.reset();
    m.details.addIp4(ip('2.2.2.2'), 1);
    rl.setReportedFromMeta(7, m.details);
    expect(rl.copyAddrs().map(String)).toEqual(['2.2.2.2:1']);
    expect(c.reported4[0]).toBe(before);
    // static prepends cap at 10 too
    for (let i = 0; i < 12; i++) rl.prependReported(8, A(`3.0.0.${i}:1`));
    expect(rl.ownerCache(8)!.reported4Count).toBe(10);
    expect(rl.ownerCache(8)!.reported4[0]!.toString()).toBe('3.0.0.11:1');
  });

  it('coalesceInto: learned then reported per family, then relays, duplicates kept', () => {
    const rl = new RemoteList(5);
    rl.learnRemote(5, A('127.0.0.1:4000'));
    const m = new NebulaMeta();
    m.details.addIp4(ip('127.0.0.1'), 4000);
    m.details.addIp6(0xfd000000, 0, 0, 1, 4001);
    m.details.addRelay(77);
    rl.setReportedFromMeta(5, m.details);
    rl.learnRemote(5, A('[fd00::9]:1'));
    const out = new NebulaMeta();
    coalesceInto(rl.ownerCache(5)!, out.details);
    expect(out.details.ip4Count).toBe(2);
    expect(out.details.ip4[1]!.port).toBe(4000);
    expect(out.details.ip6Count).toBe(2);
    expect(out.details.ip6[0]!.w3).toBe(9);
    expect(Array.from(out.details.relays.subarray(0, out.details.relayCount))).toEqual([77]);
    expect(rl.relays()).toEqual([77]);
    expect(rl.copyCache(String)).toEqual({
      5: {
        learned: ['127.0.0.1:4000', '[fd00::9]:1'],
        reported: ['127.0.0.1:4000', '[fd00::1]:4001'],
        relay: ['77'],
      },
    });
  });
});

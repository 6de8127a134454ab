import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Guards for tests that need privileges or outside binaries. They throw, so a test that cannot run
 * fails loudly in CI instead of skipping: a skipped interop test is a hidden red.
 */
export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error('this test needs root (network namespaces, tun): run as root');
  if (!existsSync('/dev/net/tun')) throw new Error('this test needs /dev/net/tun');
  requireBinary('ip', 'iproute2');
}

export function requireBinary(bin: string, pkg: string = bin): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`this test needs \`${bin}\`: apt-get install -y ${pkg}`);
  }
}

/** Debian's Go Nebula 1.6.1 (`nebula`, `nebula-cert`). Returns the nebula path. */
export function requireGoNebula(): { nebula: string; nebulaCert: string } {
  const nebula = requireBinary('nebula');
  const nebulaCert = requireBinary('nebula-cert', 'nebula');
  const v = execFileSync(nebula, ['-version'], { encoding: 'utf8' });
  if (!v.includes('1.6.1')) throw new Error(`interop tests need Go Nebula 1.6.1, found: ${v.trim()}`);
  return { nebula, nebulaCert };
}

import { isPlainMap, type RawConfig } from './load.js';

/**
 * Whether the subtree at dotted `path` differs between two raw configs, the way 1.6.1 decides
 * which subsystems to reload (it compares YAML serialisations; map key order does not matter
 * there because go-yaml sorts keys, and it does not here). Missing and null compare equal.
 */
export function subtreeChanged(oldRaw: RawConfig, newRaw: RawConfig, path: string): boolean {
  return canonical(at(oldRaw, path)) !== canonical(at(newRaw, path));
}

function at(raw: RawConfig, path: string): unknown {
  if (path === '') return raw;
  let v: unknown = raw;
  for (const part of path.split('.')) {
    if (!isPlainMap(v) || !Object.hasOwn(v, part)) return undefined;
    v = v[part];
  }
  return v;
}

function canonical(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainMap(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

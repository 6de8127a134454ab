import { stringify } from 'yaml';
import { isPlainMap, type RawConfig } from './load.js';

/** The merged config as YAML with sorted keys, as `nebula -test` prints it. */
export function renderConfigYaml(raw: RawConfig): string {
  return stringify(sortKeys(raw), { version: '1.1', lineWidth: 0, indentSeq: false });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isPlainMap(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      Object.defineProperty(out, k, {
        value: sortKeys(v[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

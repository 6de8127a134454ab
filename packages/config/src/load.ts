import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { type Document, parseAllDocuments } from 'yaml';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';
import type { ConfigWarning, NebulaConfig } from './types.js';

/** The merged YAML as plain data: maps are objects, sequences arrays, scalars JS primitives. */
export type RawConfig = Record<string, unknown>;

export interface LoadedConfig {
  /** The merged YAML, for `subtreeChanged` on reload and for `-test` printing. */
  readonly raw: RawConfig;
  readonly config: NebulaConfig;
  readonly warnings: readonly ConfigWarning[];
  /** The files read, in merge order. */
  readonly files: readonly string[];
}

/** Directory depth cap: a symlink loop must not hang the loader. */
const MAX_DEPTH = 32;

/**
 * Loads a config file or directory as Nebula 1.6.1 does: a file is read whatever its extension; a
 * directory contributes every `.yml`/`.yaml` below it, merged in byte order of absolute paths.
 */
export async function loadConfig(pathOrDir: string): Promise<LoadedConfig> {
  const files = await findConfigFiles(pathOrDir);
  let merged: RawConfig = {};
  const yamlWarnings: ConfigWarning[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new ConfigError('ERR_CONFIG_READ', '', `failed to read ${file}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const parsed = parseYamlFile(text, file);
    yamlWarnings.push(...parsed.warnings);
    merged = mergeConfigs(merged, parsed.raw);
  }
  const { config, warnings } = parseConfig(merged);
  return { raw: merged, config, warnings: [...yamlWarnings, ...warnings], files };
}

/** The files `loadConfig` would read, in merge order. Throws ERR_CONFIG_NOT_FOUND when none. */
export async function findConfigFiles(pathOrDir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (p: string, direct: boolean, depth: number): Promise<void> => {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch {
      return; // as Go: an unreadable entry is skipped; no files at all is the error
    }
    if (!st.isDirectory()) {
      const ext = extname(p);
      if (direct || ext === '.yml' || ext === '.yaml') found.push(resolve(p));
      return;
    }
    if (depth >= MAX_DEPTH) return;
    let names: string[];
    try {
      names = await readdir(p);
    } catch (e) {
      throw new ConfigError(
        'ERR_CONFIG_READ',
        '',
        `problem while reading directory ${p}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    for (const name of names) await walk(join(p, name), false, depth + 1);
  };
  await walk(pathOrDir, true, 0);
  if (found.length === 0)
    throw new ConfigError('ERR_CONFIG_NOT_FOUND', '', `no config files found at ${pathOrDir}`);
  // Go sorts with sort.Strings: byte order, not locale order.
  return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * Parses one YAML document with YAML 1.1 scalars (yes/no/on/off booleans, 0644 octal) as go-yaml v2
 * does. Timestamps and base-60 numbers stay strings: go-yaml v2 does not turn them into values
 * for an untyped map, and a `10:20` must not become 620.
 */
export function parseYaml(text: string, source = '<config>'): RawConfig {
  return parseYamlFile(text, source).raw;
}

/**
 * As `parseYaml`, also reporting duplicate keys: go-yaml v2 accepts them (the last one wins), so
 * we do too, but say so, since it is almost always a copy-paste mistake.
 */
export function parseYamlFile(
  text: string,
  source = '<config>',
): { raw: RawConfig; warnings: ConfigWarning[] } {
  const warnings: ConfigWarning[] = [];
  let doc = firstDocument(text, source, true);
  if (doc && doc.errors.length > 0 && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) {
    for (const e of doc.errors)
      warnings.push({
        path: '',
        message: `${source}: ${firstLine(e.message).replace(/:$/, '')}; the last value is used`,
      });
    doc = firstDocument(text, source, false);
  }
  if (!doc) return { raw: {}, warnings };
  const err = doc.errors[0];
  if (err) throw new ConfigError('ERR_CONFIG_YAML', '', `${source}: ${firstLine(err.message)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError('ERR_CONFIG_YAML', '', `${source}: ${firstLine((e as Error).message)}`, {
      cause: e,
    });
  }
  if (value === null || value === undefined) return { raw: {}, warnings };
  if (!isPlainMap(value))
    throw new ConfigError(
      'ERR_CONFIG_YAML',
      '',
      `${source}: the top level must be a map, got ${describe(value)}`,
    );
  return { raw: normalize(value) as RawConfig, warnings };
}

function firstDocument(text: string, source: string, uniqueKeys: boolean): Document | undefined {
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, {
      version: '1.1',
      uniqueKeys,
      customTags: (tags) =>
        tags.filter((t) => {
          if (typeof t === 'string') return t !== 'timestamp' && t !== 'intTime' && t !== 'floatTime';
          return t.tag !== 'tag:yaml.org,2002:timestamp' && (t as { format?: string }).format !== 'TIME';
        }),
    });
  } catch (e) {
    throw new ConfigError('ERR_CONFIG_YAML', '', `${source}: ${(e as Error).message}`, { cause: e });
  }
  // go-yaml's Unmarshal reads the first document only.
  return Array.isArray(docs) ? docs[0] : undefined;
}

/**
 * Merges a later file over the merged earlier ones (mergo with WithAppendSlice): later scalars win,
 * maps merge key by key, lists concatenate later-first. A null in the later file keeps the earlier
 * value, as mergo treats it as empty.
 */
export function mergeConfigs(earlier: RawConfig, later: RawConfig): RawConfig {
  const out: RawConfig = { ...later };
  for (const [k, ev] of Object.entries(earlier)) {
    const lv = out[k];
    if (lv === undefined || lv === null) out[k] = ev;
    else if (isPlainMap(lv) && isPlainMap(ev)) out[k] = mergeConfigs(ev, lv);
    else if (Array.isArray(lv) && Array.isArray(ev)) out[k] = [...lv, ...ev];
  }
  return out;
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

/** Map keys become strings; Map/Set from !!omap/!!set become plain objects/arrays. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v instanceof Map) {
    const o: Record<string, unknown> = Object.create(null);
    for (const [k, x] of v) o[String(k)] = normalize(x);
    return { ...o };
  }
  if (v instanceof Set) return [...v].map(normalize);
  if (isPlainMap(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // A YAML key `__proto__` must stay data, never reach the prototype.
      Object.defineProperty(o, k, {
        value: normalize(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (isPlainMap(v)) return 'a map';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/**
 * Open-addressing hash map keyed by uint32 (vpnIps). A JS `Map` boxes keys outside the Smi range
 * (e.g. 100.64.0.0/10 vpnIps) into heap numbers on every `get` from optimised code; this map keeps
 * keys in a `Uint32Array`, so lookups never allocate. Linear probing, backward-shift deletion.
 */
export class U32Map<V> {
  private keys: Uint32Array;
  private used: Uint8Array;
  private vals: (V | undefined)[];
  private mask: number;
  private count = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private slot(key: number): number {
    // multiplicative hash; Math.imul keeps it in int32 arithmetic
    return (Math.imul(key, 0x9e3779b1) >>> 16) & this.mask;
  }

  get(key: number): V | undefined {
    const k = key >>> 0;
    const keys = this.keys;
    const used = this.used;
    let i = this.slot(k);
    while (used[i] === 1) {
      if (keys[i] === k) return this.vals[i];
      i = (i + 1) & this.mask;
    }
    return undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): void {
    const k = key >>> 0;
    let i = this.slot(k);
    while (this.used[i] === 1) {
      if (this.keys[i] === k) {
        this.vals[i] = value;
        return;
      }
      i = (i + 1) & this.mask;
    }
    this.used[i] = 1;
    this.keys[i] = k;
    this.vals[i] = value;
    this.count++;
    if (this.count * 2 > this.keys.length) this.grow();
  }

  delete(key: number): boolean {
    const k = key >>> 0;
    let i = this.slot(k);
    while (this.used[i] === 1 && this.keys[i] !== k) i = (i + 1) & this.mask;
    if (this.used[i] !== 1) return false;
    this.used[i] = 0;
    this.vals[i] = undefined;
    this.count--;
    // backward shift so probe chains stay unbroken
    let j = (i + 1) & this.mask;
    while (this.used[j] === 1) {
      const home = this.slot(this.keys[j]!);
      const dist = (j - home) & this.mask;
      const gap = (j - i) & this.mask;
      if (dist >= gap) {
        this.keys[i] = this.keys[j]!;
        this.vals[i] = this.vals[j];
        this.used[i] = 1;
        this.used[j] = 0;
        this.vals[j] = undefined;
        i = j;
      }
      j = (j + 1) & this.mask;
    }
    return true;
  }

  clear(): void {
    this.used.fill(0);
    this.vals.fill(undefined);
    this.count = 0;
  }

  *entries(): IterableIterator<[number, V]> {
    for (let i = 0; i < this.keys.length; i++)
      if (this.used[i] === 1) yield [this.keys[i]!, this.vals[i] as V];
  }

  private grow(): void {
    const old = [...this.entries()];
    const cap = this.keys.length * 2;
    this.keys = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.count = 0;
    for (const [k, v] of old) this.set(k, v);
  }
}

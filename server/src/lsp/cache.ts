// A small LRU cache keyed by content hashes.
import { createHash } from "node:crypto";

export function hashKey(...parts: (string | null | undefined)[]): string {
  const h = createHash("sha1");
  for (const p of parts) h.update(p ?? "\u0000null").update("\u0001");
  return h.digest("base64url");
}

export class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  clear(): void {
    this.map.clear();
  }
  get size(): number {
    return this.map.size;
  }
}

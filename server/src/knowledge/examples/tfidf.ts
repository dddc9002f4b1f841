// TF-IDF over lower-case alphanumeric words with unit-length vectors and an inverted index: the lookup whose figures
// are in docs/RESULTS.md, "Grounding" (idf = ln(N / (1 + df)); a word the index has never seen weighs ln N).

export type Vector = Map<string, number>;

export const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

export interface Neighbour {
  doc: number;
  similarity: number;
}

export class TfIdf {
  private readonly idf = new Map<string, number>();
  private readonly postings = new Map<string, { docs: Int32Array; weights: Float32Array }>();
  private readonly unseenIdf: number;
  private readonly scores: Float32Array;
  private readonly seen: Uint8Array;

  constructor(texts: readonly string[]) {
    this.unseenIdf = Math.log(Math.max(1, texts.length));
    this.scores = new Float32Array(texts.length);
    this.seen = new Uint8Array(texts.length);
    const docWords = texts.map(words);
    const df = new Map<string, number>();
    for (const ws of docWords) for (const w of new Set(ws)) df.set(w, (df.get(w) ?? 0) + 1);
    for (const [w, n] of df) this.idf.set(w, Math.log(texts.length / (1 + n)));
    this.buildPostings(docWords, df);
  }

  private buildPostings(docWords: readonly string[][], df: ReadonlyMap<string, number>): void {
    const fill = new Map<string, number>();
    for (const [w, n] of df) {
      this.postings.set(w, { docs: new Int32Array(n), weights: new Float32Array(n) });
      fill.set(w, 0);
    }
    docWords.forEach((ws, doc) => {
      for (const [w, weight] of this.weigh(ws)) {
        const list = this.postings.get(w)!;
        const at = fill.get(w)!;
        list.docs[at] = doc;
        list.weights[at] = weight;
        fill.set(w, at + 1);
      }
    });
  }

  private weigh(ws: readonly string[]): Vector {
    const v: Vector = new Map();
    for (const w of ws) v.set(w, (v.get(w) ?? 0) + (this.idf.get(w) ?? this.unseenIdf));
    let norm = 0;
    for (const x of v.values()) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    for (const [w, x] of v) v.set(w, x / norm);
    return v;
  }

  /** The unit-length TF-IDF vector of a text under this index's word weights. */
  vector(text: string): Vector {
    return this.weigh(words(text));
  }

  /** The k most similar documents that `accept` lets through, most similar first (ties: lower doc first). */
  nearest(query: Vector, k: number, accept: (doc: number) => boolean = () => true): Neighbour[] {
    const touched: number[] = [];
    for (const [w, x] of query) {
      const list = this.postings.get(w);
      if (!list) continue;
      for (let i = 0; i < list.docs.length; i++) {
        const doc = list.docs[i]!;
        if (!this.seen[doc]) {
          this.seen[doc] = 1;
          touched.push(doc);
        }
        this.scores[doc] = this.scores[doc]! + x * list.weights[i]!;
      }
    }
    const ranked = this.topScored(touched, k + 32);
    const out = this.acceptedOf(ranked, k, accept);
    // a filter that left out most of the best: rank everything (rare: a program filter on a common query)
    const complete = out.length < k && ranked.length < touched.length ? this.acceptedOf(this.topScored(touched, touched.length), k, accept) : out;
    for (const doc of touched) {
      this.scores[doc] = 0;
      this.seen[doc] = 0;
    }
    return complete;
  }

  private acceptedOf(ranked: readonly Neighbour[], k: number, accept: (doc: number) => boolean): Neighbour[] {
    const out: Neighbour[] = [];
    for (const n of ranked) {
      if (out.length >= k) break;
      if (n.similarity > 0 && accept(n.doc)) out.push({ doc: n.doc, similarity: Math.min(1, n.similarity) });
    }
    return out;
  }

  /** The m best-scored touched documents, best first (ties: lower doc first), without sorting all of them. */
  private topScored(touched: readonly number[], m: number): Neighbour[] {
    const better = (a: Neighbour, b: Neighbour): boolean => a.similarity > b.similarity || (a.similarity === b.similarity && a.doc < b.doc);
    const heap: Neighbour[] = []; // a min-heap of the best m: heap[0] is the worst kept
    const sink = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let worst = i;
        if (l < heap.length && better(heap[worst]!, heap[l]!)) worst = l;
        if (r < heap.length && better(heap[worst]!, heap[r]!)) worst = r;
        if (worst === i) return;
        [heap[i], heap[worst]] = [heap[worst]!, heap[i]!];
        i = worst;
      }
    };
    for (const doc of touched) {
      const n = { doc, similarity: this.scores[doc]! };
      if (heap.length < m) {
        heap.push(n);
        for (let i = heap.length - 1; i > 0; ) {
          const parent = (i - 1) >> 1;
          if (!better(heap[parent]!, heap[i]!)) break;
          [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
          i = parent;
        }
      } else if (better(n, heap[0]!)) {
        heap[0] = n;
        sink(0);
      }
    }
    return heap.sort((a, b) => b.similarity - a.similarity || a.doc - b.doc);
  }
}

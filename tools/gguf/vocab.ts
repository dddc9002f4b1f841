// A SentencePiece-style ("llama" / SPM) vocabulary learned from a corpus by BPE, written so that llama.cpp's SPM
// tokenizer reproduces it: that tokenizer starts from single characters and repeatedly merges the adjacent pair whose
// concatenation is the highest-scoring piece, so a piece learned by the k-th merge gets score -k. Pieces never cross
// a word boundary (a word is a run of "▁" plus the characters up to the next space, or a lone newline), and unknown
// characters fall back to byte pieces <0x00>..<0xFF>.
import { gguf, type GgufValue } from "./writer";

export const SPACE_MARK = "\u2581"; // "▁": SentencePiece's marker for a preceding space

export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export const SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"] as const;

export interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
}

/** The text as llama.cpp's SPM tokenizer sees it: spaces become "▁" and one "▁" is prefixed (add_space_prefix). */
export function spmNormalize(text: string): string {
  return SPACE_MARK + text.replaceAll(" ", SPACE_MARK);
}

const WORD = new RegExp(`${SPACE_MARK}+[^${SPACE_MARK}\\n]*|[^${SPACE_MARK}\\n]+|\\n`, "gu");

export function spmWords(normalized: string): string[] {
  return normalized.match(WORD) ?? [];
}

const byteToken = (byte: number): string => `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`;

/**
 * Proper prefixes and suffixes (two characters or more) of the special and byte tokens' texts. The SPM tokenizer
 * merges any adjacent pair whose text is a token, byte and control tokens included, so if such a piece existed a
 * literal "<s>" or "<0x41>" in the input could turn into a control or byte token and not decode back.
 */
function forbiddenPieces(): Set<string> {
  const forbidden = new Set<string>();
  const reserved = [...SPECIAL_TOKENS, ...Array.from({ length: 256 }, (_, b) => byteToken(b))];
  for (const text of reserved) {
    for (let cut = 2; cut < text.length; cut++) forbidden.add(text.slice(0, cut));
    for (let cut = 1; cut < text.length - 1; cut++) forbidden.add(text.slice(cut));
  }
  return forbidden;
}

export interface LearnOptions {
  /** Total vocabulary size including the 3 specials, 256 byte pieces and every character of the corpus. */
  size: number;
  /** Stop merging when the most frequent pair occurs fewer times than this. Default 2. */
  minPairCount?: number;
}

/** Max-heap of (count, pair key) entries; stale entries are skipped by the caller. Ties go to the smaller key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!, cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const last = this.counts.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let best = i;
      if (l < this.counts.length && this.above(l, best)) best = l;
      if (r < this.counts.length && this.above(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

const PAIR_BASE = 1 << 20;
const pairKey = (a: number, b: number): number => a * PAIR_BASE + b;

/** BPE state over distinct words: each word is a list of piece ids with a corpus count. */
class BpeTrainer {
  readonly pieces: string[] = [];
  private readonly pieceIds = new Map<string, number>();
  private readonly words: number[][] = [];
  private readonly wordCounts: number[] = [];
  private readonly pairCounts = new Map<number, number>();
  private readonly pairWords = new Map<number, Set<number>>();
  readonly heap = new PairHeap();

  constructor(wordFrequencies: Map<string, number>, characters: string[]) {
    for (const char of characters) this.pieceId(char);
    for (const [word, count] of wordFrequencies) {
      const w = this.words.length;
      const symbols = [...word].map((char) => this.pieceId(char));
      this.words.push(symbols);
      this.wordCounts.push(count);
      for (let i = 0; i + 1 < symbols.length; i++) this.addPair(symbols[i]!, symbols[i + 1]!, count, w);
    }
    for (const [key, count] of this.pairCounts) this.heap.push(count, key);
  }

  pieceId(piece: string): number {
    let id = this.pieceIds.get(piece);
    if (id === undefined) {
      id = this.pieces.length;
      if (id >= PAIR_BASE) throw new Error(`Vocabulary learner supports at most ${PAIR_BASE} pieces`);
      this.pieces.push(piece);
      this.pieceIds.set(piece, id);
    }
    return id;
  }

  countOf(key: number): number {
    return this.pairCounts.get(key) ?? 0;
  }

  textOf(key: number): string {
    return this.pieces[Math.floor(key / PAIR_BASE)]! + this.pieces[key % PAIR_BASE]!;
  }

  private addPair(a: number, b: number, count: number, word: number): void {
    const key = pairKey(a, b);
    this.pairCounts.set(key, (this.pairCounts.get(key) ?? 0) + count);
    let words = this.pairWords.get(key);
    if (!words) this.pairWords.set(key, (words = new Set()));
    words.add(word);
  }

  private removePair(a: number, b: number, count: number): void {
    const key = pairKey(a, b);
    this.pairCounts.set(key, (this.pairCounts.get(key) ?? 0) - count);
  }

  /** Replaces every occurrence of the pair by `merged` and pushes the changed pair counts. */
  merge(key: number, merged: number): void {
    const a = Math.floor(key / PAIR_BASE), b = key % PAIR_BASE;
    const touched = new Set<number>();
    for (const w of this.pairWords.get(key) ?? []) {
      const symbols = this.words[w]!;
      const count = this.wordCounts[w]!;
      const out: number[] = [];
      let previousMerged = false;
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          // After a merge just before, the left pair (b, a) was already removed as that merge's right neighbour.
          if (out.length > 0 && !previousMerged) {
            this.removePair(out[out.length - 1]!, a, count);
            touched.add(pairKey(out[out.length - 1]!, a));
          }
          if (i + 2 < symbols.length) {
            this.removePair(b, symbols[i + 2]!, count);
            touched.add(pairKey(b, symbols[i + 2]!));
          }
          out.push(merged);
          previousMerged = true;
          i++;
        } else {
          out.push(symbols[i]!);
          previousMerged = false;
        }
      }
      this.words[w] = out;
      for (let i = 0; i + 1 < out.length; i++) {
        if (out[i] === merged || out[i + 1] === merged) {
          this.addPair(out[i]!, out[i + 1]!, count, w);
          touched.add(pairKey(out[i]!, out[i + 1]!));
        }
      }
    }
    this.pairCounts.delete(key);
    this.pairWords.delete(key);
    for (const k of touched) {
      const count = this.countOf(k);
      if (count > 0 && k !== key) this.heap.push(count, k);
    }
  }
}

function countWords(texts: Iterable<string>): { words: Map<string, number>; characters: string[] } {
  const words = new Map<string, number>();
  const charCounts = new Map<string, number>();
  for (const text of texts) {
    for (const word of spmWords(spmNormalize(text))) {
      words.set(word, (words.get(word) ?? 0) + 1);
    }
  }
  for (const [word, count] of words) {
    for (const char of word) charCounts.set(char, (charCounts.get(char) ?? 0) + count);
  }
  // Most frequent first, ties by code point, so the result does not depend on input order.
  const characters = [...charCounts.entries()]
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([char]) => char);
  return { words, characters };
}

/**
 * Learns a vocabulary of `size` entries from the texts: <unk>, <s>, </s>, the 256 byte pieces, every character seen
 * (so nothing in the corpus needs byte fallback), then BPE merges in order of pair frequency until the size is
 * reached or no pair occurs `minPairCount` times. Throws if the size cannot hold the specials, bytes and characters.
 */
export function learnVocabulary(texts: Iterable<string>, opts: LearnOptions): Vocabulary {
  const { words, characters } = countWords(texts);
  const fixed = SPECIAL_TOKENS.length + 256 + characters.length;
  if (!Number.isInteger(opts.size) || opts.size < fixed) {
    throw new RangeError(`Vocabulary size ${opts.size} is below the ${fixed} specials, byte pieces and characters`);
  }
  const minPairCount = opts.minPairCount ?? 2;
  const forbidden = forbiddenPieces();
  const trainer = new BpeTrainer(words, characters);
  const merged: string[] = [];
  const known = new Set(characters);
  while (fixed + merged.length < opts.size && trainer.heap.size > 0) {
    const { count, key } = trainer.heap.pop();
    if (count !== trainer.countOf(key)) continue; // stale entry
    if (count < minPairCount) break;
    const text = trainer.textOf(key);
    if (forbidden.has(text)) continue;
    trainer.merge(key, trainer.pieceId(text));
    if (!known.has(text)) {
      known.add(text);
      merged.push(text);
    }
  }

  const vocab: Vocabulary = { tokens: [], scores: [], types: [] };
  const add = (token: string, score: number, type: number): void => {
    vocab.tokens.push(token);
    vocab.scores.push(score);
    vocab.types.push(type);
  };
  add("<unk>", 0, TOKEN_TYPE.unknown);
  add("<s>", 0, TOKEN_TYPE.control);
  add("</s>", 0, TOKEN_TYPE.control);
  for (let byte = 0; byte < 256; byte++) add(byteToken(byte), 0, TOKEN_TYPE.byte);
  // Characters are never the result of a merge, so their scores only need to stay below every merged piece.
  characters.forEach((char, i) => add(char, -(merged.length + i), TOKEN_TYPE.normal));
  merged.forEach((piece, k) => add(piece, -k, TOKEN_TYPE.normal));
  return vocab;
}

/** The tokenizer.* GGUF metadata for an SPM vocabulary built by learnVocabulary. */
export function vocabularyMetadata(vocab: Vocabulary): Record<string, GgufValue> {
  return {
    "tokenizer.ggml.model": gguf.string("llama"),
    "tokenizer.ggml.tokens": gguf.strings(vocab.tokens),
    "tokenizer.ggml.scores": gguf.f32s(vocab.scores),
    "tokenizer.ggml.token_type": gguf.i32s(vocab.types),
    "tokenizer.ggml.unknown_token_id": gguf.u32(0),
    "tokenizer.ggml.bos_token_id": gguf.u32(1),
    "tokenizer.ggml.eos_token_id": gguf.u32(2),
    "tokenizer.ggml.add_bos_token": gguf.bool(true),
    "tokenizer.ggml.add_eos_token": gguf.bool(false),
  };
}

/**
 * Counts the tokens llama.cpp's SPM tokenizer produces for a text (no BOS), by the same greedy highest-score merging,
 * one word at a time (pieces never span words) with a per-word cache. For measuring vocabularies without loading a
 * model; the model itself is the reference.
 */
export class SpmTokenCounter {
  private readonly scores = new Map<string, number>();
  private readonly cache = new Map<string, number>();

  constructor(vocab: Vocabulary) {
    vocab.tokens.forEach((token, i) => {
      if (vocab.types[i] === TOKEN_TYPE.normal) this.scores.set(token, vocab.scores[i]!);
    });
  }

  count(text: string): number {
    let total = 0;
    for (const word of spmWords(spmNormalize(text))) {
      let n = this.cache.get(word);
      if (n === undefined) this.cache.set(word, (n = this.countWord(word)));
      total += n;
    }
    return total;
  }

  private countWord(word: string): number {
    const symbols = [...word];
    // Words are short, so a linear scan for the best pair is fast enough.
    for (;;) {
      let best = -1, bestScore = -Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const score = this.scores.get(symbols[i]! + symbols[i + 1]!);
        if (score !== undefined && score > bestScore) {
          best = i;
          bestScore = score;
        }
      }
      if (best < 0) break;
      symbols.splice(best, 2, symbols[best]! + symbols[best + 1]!);
    }
    return symbols.reduce((n, s) => n + (this.scores.has(s) ? 1 : Buffer.byteLength(s, "utf8")), 0);
  }
}

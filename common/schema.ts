// Schemas of records read back from disk or the wire: each record's shape is declared once, as a value. The reader
// checks a value against it (types, ranges, allowed words, every field, with the field's path in the reason) and the
// writer's TypeScript type is tested against the type it infers (`Infer`, `Conforms`), so the two cannot drift.
// Objects are open: a field the schema does not name is left alone (older and newer writers add fields).
// Pure data and functions, no imports.

/** A schema: checks a value, and carries the type of the values it accepts (`Infer`). */
export interface Schema<T> {
  /** What the value should be, in words ("an integer at least 1"), for the reason a check gives. */
  readonly expected: string;
  /** Why `value` is not valid (naming the field at `path` and what is inside it), or null when it is. */
  problem(value: unknown, path: string): string | null;
  /** Never set: carries T for `Infer`. */
  readonly type?: T;
  /** Set by `optional`: the field may be absent. */
  readonly optional?: true;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Fields = Record<string, Schema<unknown>>;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends { optional: true } ? K : never }[keyof F];
type Flat<T> = { [K in keyof T]: T[K] };
type ObjectOf<F extends Fields> = Flat<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> }
>;

/** A value in words, short: the reason quotes what was found. */
export function shown(value: unknown): string {
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  const text = typeof value === "number" ? String(value) : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const where = (path: string): string => (path ? `field "${path}"` : "the value");
const fieldPath = (path: string, key: string | number): string => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);

function leaf<T>(expected: string, accepts: (v: unknown) => boolean): Schema<T> {
  return { expected, problem: (v, path) => (accepts(v) ? null : `${where(path)} should be ${expected}, is ${shown(v)}`) };
}

export const string: Schema<string> = leaf("a string", (v) => typeof v === "string");
export const boolean: Schema<boolean> = leaf("true or false", (v) => typeof v === "boolean");

export interface Range {
  min?: number;
  max?: number;
  /** The minimum itself is not allowed. */
  exclusiveMin?: boolean;
}

function rangeWords(kind: string, r: Range): string {
  const low = r.min === undefined ? "" : ` ${r.exclusiveMin ? "above" : "at least"} ${r.min}`;
  const high = r.max === undefined ? "" : `${low ? " and" : ""} at most ${r.max}`;
  return `${kind}${low}${high}`;
}

const inRange = (n: number, r: Range): boolean =>
  (r.min === undefined || (r.exclusiveMin ? n > r.min : n >= r.min)) && (r.max === undefined || n <= r.max);

/** A finite number within the range. */
export function number(range: Range = {}): Schema<number> {
  return leaf(rangeWords("a number", range), (v) => typeof v === "number" && Number.isFinite(v) && inRange(v, range));
}

/** A whole number within the range. */
export function integer(range: Range = {}): Schema<number> {
  return leaf(rangeWords("an integer", range), (v) => typeof v === "number" && Number.isInteger(v) && inRange(v, range));
}

/** One of the given words. */
export function oneOf<const T extends string>(...values: readonly T[]): Schema<T> {
  return leaf(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`, (v) => (values as readonly unknown[]).includes(v));
}

/** Exactly this value (a flag written only as `true`). */
export function literal<const T extends string | number | boolean>(value: T): Schema<T> {
  return leaf(JSON.stringify(value), (v) => v === value);
}

/** A value the check function accepts (`problem` returns why not, without the field's name). */
export function custom<T>(expected: string, problem: (v: unknown) => string | null): Schema<T> {
  return {
    expected,
    problem(v, path) {
      const why = problem(v);
      return why === null ? null : `${where(path)} ${why}`;
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return { expected: `${inner.expected} or null`, problem: (v, path) => (v === null ? null : inner.problem(v, path)) };
}

/** A field that may be absent (undefined); when present it must match `inner`. */
export function optional<T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } {
  return { expected: inner.expected, optional: true, problem: (v, path) => (v === undefined ? null : inner.problem(v, path)) };
}

export function array<T>(item: Schema<T>): Schema<T[]> {
  return {
    expected: "an array",
    problem(v, path) {
      if (!Array.isArray(v)) return `${where(path)} should be an array, is ${shown(v)}`;
      for (const [i, x] of v.entries()) {
        const p = item.problem(x, fieldPath(path, i));
        if (p) return p;
      }
      return null;
    },
  };
}

/** A pair of values, such as a confidence interval. */
export function pair<T>(item: Schema<T>): Schema<[T, T]> {
  const items = array(item);
  return {
    expected: "a pair",
    problem: (v, path) => (Array.isArray(v) && v.length !== 2 ? `${where(path)} should be a pair, is an array of ${v.length}` : items.problem(v, path)),
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** An own property only: `constructor` or `__proto__` never stand in for a missing field. */
const own = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

export function object<F extends Fields>(fields: F): Schema<ObjectOf<F>> & { fields: F } {
  return {
    expected: "an object",
    fields,
    problem(v, path) {
      if (!isPlainObject(v)) return `${where(path)} should be an object, is ${shown(v)}`;
      for (const [key, schema] of Object.entries(fields)) {
        const p = schema.problem(own(v, key), fieldPath(path, key));
        if (p) return p;
      }
      return null;
    },
  };
}

/** An object of any keys whose values all match `value` (timings, score parts). */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return {
    expected: "an object",
    problem(v, path) {
      if (!isPlainObject(v)) return `${where(path)} should be an object, is ${shown(v)}`;
      for (const [key, x] of Object.entries(v)) {
        const p = value.problem(x, fieldPath(path, key));
        if (p) return p;
      }
      return null;
    },
  };
}

/** What a check returns: the value, or why it is not one. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export function check<T>(schema: Schema<T>, value: unknown): Checked<T> {
  const reason = schema.problem(value, "");
  return reason === null ? { ok: true, value: value as T } : { ok: false, reason };
}

// Compile-time tests of a writer's type against a schema --------------------------------------------------------

type AllTrue<T> = false extends T[keyof T] ? false : true;

/** Every field of `Written`, at every depth, is named in `Read` (the schema's type): none goes unchecked. */
type Covers<Written, Read> = [Written] extends [readonly (infer W)[]]
  ? [Read] extends [readonly (infer R)[]]
    ? Covers<W, R>
    : false
  : [Written] extends [object]
    ? [Read] extends [object]
      ? [Exclude<keyof Written, keyof Read>] extends [never]
        ? AllTrue<{ [K in keyof Written & keyof Read]-?: Covers<NonNullable<Written[K]>, NonNullable<Read[K]>> }>
        : false
      : false
    : true;

/**
 * `true` when every value of the writer's type passes the schema's type and the schema names every field of it;
 * `false` otherwise. Used as `const ok: Conforms<CycleRecord, Infer<typeof CYCLE_RECORD>> = true`, so a field added
 * to a record's type without its schema, or with another type, fails to compile.
 */
export type Conforms<Written, Read> = [Written] extends [Read] ? Covers<Written, Read> : false;

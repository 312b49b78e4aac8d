// Growing the typed-array columns of the tables. Columns grow by 1.25x while small and
// by 1.125x past 64k entries rather than doubling: a million bindings then carry at
// most 12.5% slack, which matters when the whole point is bytes per binding (copying
// stays O(n) amortized: about 8 copies of each element over the table's life).

type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** The next capacity at least `needed`, growing geometrically from `current`. */
export function nextCapacity(current: number, needed: number): number {
  let c = Math.max(current, 16);
  while (c < needed) c = Math.ceil(c * (c < 65_536 ? 1.25 : 1.125)) + 16;
  return c;
}

/** A copy of `a` with `capacity` elements, new ones set to `fill`. */
export function grown<T extends TypedArray>(a: T, capacity: number, fill = 0): T {
  const Ctor = a.constructor as new (n: number) => T;
  const b = new Ctor(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}

/** Row indices of each split, each ordered by the seeded hash (so labels interleave). */
export interface SplitIndices {
  train: Int32Array;
  validation: Int32Array;
}

/**
 * A reproducible train/validation split, stratified by group (the label index; one group for
 * generation). Every row gets a hash of (seed, row index); within each group the
 * `round(size × valFraction)` rows with the lowest hashes go to validation. The same seed and the
 * same rows in the same order always give the same split, on any machine.
 */
export function splitRows(groups: Int32Array, seed: number, valFraction: number): SplitIndices {
  const rows = groups.length;
  const keys = new Uint32Array(rows);
  for (let row = 0; row < rows; row += 1) keys[row] = rowHash(seed, row);
  const order = Array.from({ length: rows }, (_, row) => row).sort(
    (a, b) => (keys[a] as number) - (keys[b] as number) || a - b,
  );

  const members = new Map<number, number[]>();
  for (const row of order) {
    const group = groups[row] as number;
    const list = members.get(group);
    if (list === undefined) members.set(group, [row]);
    else list.push(row);
  }
  const toValidation = new Uint8Array(rows);
  let validationRows = 0;
  for (const list of members.values()) {
    const take = Math.round(list.length * valFraction);
    for (const row of list.slice(0, take)) toValidation[row] = 1;
    validationRows += take;
  }
  // Tiny datasets can round every group down to zero; a validation split must not be empty.
  if (validationRows === 0 && rows > 1) {
    const largest = [...members.values()].reduce((a, b) => (b.length > a.length ? b : a));
    toValidation[largest[0] as number] = 1;
  }

  const validation = order.filter((row) => toValidation[row] === 1);
  const train = order.filter((row) => toValidation[row] === 0);
  return { train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** A 32-bit avalanche mix of the seed and the row index (murmur3's finalizer steps). */
function rowHash(seed: number, row: number): number {
  let h = (mix(seed) ^ Math.imul(row + 1, 0x9e3779b1)) >>> 0;
  h = mix(h);
  return h;
}

function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

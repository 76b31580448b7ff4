/** Mean, lowest and highest of some numbers (one per seed). */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** How many seeds gave a number. */
  n: number;
}

/** The spread of the finite values; null when there are none. */
export function spread(values: readonly (number | null)[]): Spread | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (present.length === 0) return null;
  return {
    mean: present.reduce((a, b) => a + b, 0) / present.length,
    min: Math.min(...present),
    max: Math.max(...present),
    n: present.length,
  };
}

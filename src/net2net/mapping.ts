/**
 * Unit mappings of Net2WiderNet, and the seeded random numbers that draw them.
 *
 * A mapping describes one tensor's channel axis after widening: position j of the new tensor holds a copy of unit
 * g[j] of the old tensor. The first `oldWidth` positions of a freshly drawn mapping are the identity (g(j) = j), the
 * rest are uniform draws from the old units (the paper's g).
 */
import { SeededRandom } from '../random/seeded-random.ts';

export interface UnitMapping {
  /** Width of the tensor before widening (n). */
  readonly oldWidth: number;
  /** g: new position -> old unit, length q (the new width). */
  readonly g: Int32Array;
}

export function identityMapping(width: number): UnitMapping {
  const g = new Int32Array(width);
  for (let j = 0; j < width; j++) g[j] = j;
  return { oldWidth: width, g };
}

export function isIdentity(mapping: UnitMapping): boolean {
  if (mapping.g.length !== mapping.oldWidth) return false;
  for (let j = 0; j < mapping.g.length; j++) if (mapping.g[j] !== j) return false;
  return true;
}

export function sameMapping(a: UnitMapping, b: UnitMapping): boolean {
  if (a.oldWidth !== b.oldWidth || a.g.length !== b.g.length) return false;
  for (let j = 0; j < a.g.length; j++) if (a.g[j] !== b.g[j]) return false;
  return true;
}

/** The paper's random mapping from n to q units: g(j) = j for j < n, uniform in [0, n) beyond. */
export function randomWiderMapping(oldWidth: number, newWidth: number, random: SeededRandom): UnitMapping {
  const g = new Int32Array(newWidth);
  for (let j = 0; j < newWidth; j++) g[j] = j < oldWidth ? j : random.int(oldWidth);
  return { oldWidth, g };
}

/** How many positions copy each old unit: |{x : g(x) = u}| for u in [0, n). */
export function replicaCounts(mapping: UnitMapping): Int32Array {
  const counts = new Int32Array(mapping.oldWidth);
  for (const u of mapping.g) counts[u]++;
  return counts;
}

/** For each new position, which copy of its old unit it is (0 for the first position holding that unit). */
export function replicaRanks(mapping: UnitMapping): Int32Array {
  const seen = new Int32Array(mapping.oldWidth);
  const ranks = new Int32Array(mapping.g.length);
  for (let j = 0; j < mapping.g.length; j++) ranks[j] = seen[mapping.g[j]]++;
  return ranks;
}

/**
 * Mapping of a channel concatenation: values shift by the inputs' OLD widths, positions by their NEW widths.
 */
export function concatMappings(parts: readonly UnitMapping[]): UnitMapping {
  const oldWidth = parts.reduce((s, m) => s + m.oldWidth, 0);
  const g = new Int32Array(parts.reduce((s, m) => s + m.g.length, 0));
  let valueOffset = 0;
  let positionOffset = 0;
  for (const part of parts) {
    for (let j = 0; j < part.g.length; j++) g[positionOffset + j] = valueOffset + part.g[j];
    valueOffset += part.oldWidth;
    positionOffset += part.g.length;
  }
  return { oldWidth, g };
}

/**
 * Mapping of a channels-last Flatten over `positions` spatial positions: flat index p * C + c, with the old C in the
 * values and the new C in the positions.
 */
export function flattenMapping(channels: UnitMapping, positions: number): UnitMapping {
  const oldC = channels.oldWidth;
  const newC = channels.g.length;
  const g = new Int32Array(positions * newC);
  for (let p = 0; p < positions; p++) for (let c = 0; c < newC; c++) g[p * newC + c] = p * oldC + channels.g[c];
  return { oldWidth: positions * oldC, g };
}

/**
 * Mapping of a depthwise convolution's output with `multiplier` filters per input channel: output channel
 * c * M + m reads input channel c only.
 */
export function depthwiseMapping(channels: UnitMapping, multiplier: number): UnitMapping {
  const g = new Int32Array(channels.g.length * multiplier);
  for (let c = 0; c < channels.g.length; c++)
    for (let m = 0; m < multiplier; m++) g[c * multiplier + m] = channels.g[c] * multiplier + m;
  return { oldWidth: channels.oldWidth * multiplier, g };
}

/** The operators' generator (mulberry32): a recorded seed reproduces the transform it was drawn for. */
export function operatorRandom(seed: number): SeededRandom {
  return new SeededRandom(seed, 'mulberry32');
}

/** A seed for callers that give none; recorded in the transform record so the result can be reproduced. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

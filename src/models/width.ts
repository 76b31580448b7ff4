/**
 * Width scaling of a model family: channel count = max(minimum, floor(c * width)), applied to the Inception modules
 * only (scope 'modules', the Net2Net paper's meaning: the stem keeps its channels) or to every conv (scope 'all').
 * The classifier's output count never scales.
 *
 * Floor (not round) is the rule that reproduces the reference counts of shared/docs/inception-bn.md (e.g. width 0.3,
 * every conv: 1.22 M params and 0.20 G multiply-adds; rounding gives 1.23 M and 0.21 G). The small epsilon keeps
 * products like 0.29 * 100 = 28.999999999999996 at 29.
 */
export type WidthScope = 'modules' | 'all';
export const WIDTH_SCOPES: readonly WidthScope[] = ['modules', 'all'];

export interface WidthRule {
  readonly width: number;
  readonly scope: WidthScope;
  /** Smallest channel count a scaled conv gets (the full network: 16; the small one: 1). */
  readonly minimum: number;
}

export function scaledChannels(rule: WidthRule, channels: number, part: 'stem' | 'module'): number {
  if (part === 'stem' && rule.scope === 'modules') return channels;
  return Math.max(rule.minimum, Math.floor(channels * rule.width + 1e-9));
}

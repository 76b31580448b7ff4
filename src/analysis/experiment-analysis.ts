/** Everything the figures and the summary show about an experiment, computed from its seeds' curves in one call. */
import type { SeedReading } from '../run-folder/seed-folders.ts';
import type { ClaimResult } from './claims.ts';
import { claimsAcrossSeeds } from './experiment-claims.ts';
import type { ExperimentSummary } from './experiment-summary.ts';
import { combinedSummary } from './experiment-summary.ts';
import type { MethodSummary } from './seed-statistics.ts';
import { DEFAULT_CLAIM_MARGIN, methodSummaries } from './seed-statistics.ts';

export interface ExperimentAnalysis {
  summary: ExperimentSummary;
  /** The seeds read, and every seed the experiment ran (the claims need all of them). */
  seeds: (number | null)[];
  experimentSeeds: number[];
  methods: MethodSummary[];
  claims: ClaimResult[];
  claimMargin: number;
}

export function analyzeExperiment(
  seeds: readonly SeedReading[],
  experimentSeeds?: readonly number[],
): ExperimentAnalysis {
  const manifest = seeds[0]!.reading.manifest;
  const claimMargin = manifest.claimMargin ?? DEFAULT_CLAIM_MARGIN;
  const ran = [...(experimentSeeds ?? seeds.map((s) => s.seed ?? 0))];
  return {
    summary: combinedSummary(seeds),
    seeds: seeds.map((s) => s.seed),
    experimentSeeds: ran,
    methods: methodSummaries(seeds, claimMargin),
    claims: claimsAcrossSeeds(seeds, claimMargin, ran),
    claimMargin,
  };
}

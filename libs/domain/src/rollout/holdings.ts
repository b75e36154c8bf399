import { DeploymentShape } from '../shape/deployment-shape';
import { AgentPlanPart } from './plan';

/** What one rank holds for one layer, as an agent (or its device backend) reports it. */
export interface RankHoldings {
  readonly rank: number;
  /** Logical expert per local slot (S entries). */
  readonly experts: number[];
  /** Weight checksum per local slot, computed from the bytes the rank holds. */
  readonly checksums: string[];
}

export interface LayerHoldings {
  readonly layer: number;
  /** Map version the layer is on at these ranks. */
  readonly version: number;
  readonly ranks: RankHoldings[];
}

/**
 * Checks what the agents report for one layer after a commit against the part they committed:
 * every rank of the deployment reported exactly once, on `part.version`, holding `part.row`, and
 * the checksums match the manifest (when given) or at least agree between replicas of an expert.
 * Returns null when all is well, else the first mismatch.
 */
export function verifyHoldings(
  shape: DeploymentShape,
  expected: { readonly version: number; readonly row: readonly number[] },
  reports: readonly LayerHoldings[],
  manifest?: readonly string[],
): string | null {
  const S = shape.slotsPerRank;
  const seen = new Set<number>();
  const byExpert = new Map<number, string>();
  for (const rep of reports) {
    if (rep.version !== expected.version) return `layer ${rep.layer}: reported version ${rep.version}, expected ${expected.version}`;
    for (const rh of rep.ranks) {
      const r = rh.rank;
      if (!Number.isInteger(r) || r < 0 || r >= shape.numRanks) return `rank ${String(r)} is not a rank of the deployment`;
      if (seen.has(r)) return `rank ${r} reported twice`;
      seen.add(r);
      if (rh.experts.length !== S || rh.checksums.length !== S) return `rank ${r}: ${rh.experts.length} experts / ${rh.checksums.length} checksums, expected ${S}`;
      for (let j = 0; j < S; j++) {
        const want = expected.row[r * S + j];
        if (rh.experts[j] !== want) return `rank ${r} slot ${r * S + j}: holds expert ${rh.experts[j]}, expected ${want}`;
        const c = rh.checksums[j];
        if (manifest) {
          if (c !== manifest[want]) return `rank ${r} slot ${r * S + j}: checksum of expert ${want} is ${c}, manifest says ${manifest[want]}`;
        } else {
          const prev = byExpert.get(want);
          if (prev === undefined) byExpert.set(want, c);
          else if (prev !== c) return `expert ${want}: replicas disagree (${prev} vs ${c} on rank ${r})`;
        }
      }
    }
  }
  if (seen.size !== shape.numRanks) return `${shape.numRanks - seen.size} rank(s) did not report`;
  return null;
}

/** The holdings a part's ranks must report after its commit (without checksums). */
export const expectedExperts = (shape: DeploymentShape, part: AgentPlanPart, rank: number): number[] =>
  part.row.slice(rank * shape.slotsPerRank, (rank + 1) * shape.slotsPerRank);

// Every migration, in order. Listed explicitly so the same data source works from TypeScript
// (tests, CLI) and from compiled JavaScript (apps), with no glob to drift.
import { InitialSchema1763884800000 } from './1763884800000-initial-schema';
import { HeatWindows1763888400000 } from './1763888400000-heat-windows';
import { PolicyRuns1763892000000 } from './1763892000000-policy-runs';
import { RolloutFences1763895600000 } from './1763895600000-rollout-fences';
import { AgentTokenScope1763899200000 } from './1763899200000-agent-token-scope';
import { RolloutSettings1763902800000 } from './1763902800000-rollout-settings';
import { EventsByCorrelation1763904600000 } from './1763904600000-events-by-correlation';
import { RolloutLockGenerations1763906400000 } from './1763906400000-rollout-lock-generations';
import { AgentKeys1763908200000 } from './1763908200000-agent-keys';
import { TokenExpiry1763911800000 } from './1763911800000-token-expiry';
import { HeatPartitionClaims1763915400000 } from './1763915400000-heat-partition-claims';
import { EventsLz41763917200000 } from './1763917200000-events-lz4';
import { EventsRolloutsById1763919000000 } from './1763919000000-events-rollouts-by-id';

export const migrations = [InitialSchema1763884800000, HeatWindows1763888400000, PolicyRuns1763892000000, RolloutFences1763895600000, AgentTokenScope1763899200000, RolloutSettings1763902800000, EventsByCorrelation1763904600000, RolloutLockGenerations1763906400000, AgentKeys1763908200000, TokenExpiry1763911800000, HeatPartitionClaims1763915400000, EventsLz41763917200000, EventsRolloutsById1763919000000];

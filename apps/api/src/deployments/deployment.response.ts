import { DeploymentResponse, shapeToBody } from '@eplb/contracts';
import { DeploymentRecord, shapeOf } from '@eplb/persistence';

/** A stored deployment as the API shows it; built explicitly so storage can change freely. */
export const toDeploymentResponse = (d: DeploymentRecord): DeploymentResponse => ({
  id: d.id,
  shape: shapeToBody(shapeOf(d)),
  windows: { episodeSteps: d.episodeSteps, intervalSteps: d.intervalSteps, latenessSteps: d.latenessSteps },
  mapVersion: d.latestMapVersion,
  settings: { ...d.settings, rolloutSteps: [...d.settings.rolloutSteps], version: d.settingsVersion },
  createdAt: d.createdAt.toISOString(),
});

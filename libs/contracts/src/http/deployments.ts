import type { DeploymentShapeBody } from './deployment-shape';
import type { PolicySettingsBody } from './policy';

/** Episode, interval and allowed lateness of a deployment's heat, in engine steps. */
export interface HeatWindowsBody {
  episodeSteps: number;
  intervalSteps: number;
  latenessSteps: number;
}

/** `POST /v1/deployments`: the shape, optional windows, an initial map (rows or an engine file) and settings. */
export interface CreateDeploymentRequest {
  id: string;
  shape: DeploymentShapeBody & { groups?: number };
  windows?: Partial<HeatWindowsBody>;
  initialMap?: number[][] | { format: 'vllm-ascend' | 'sglang' | 'eplb'; document: Record<string, unknown> };
  settings?: Partial<PolicySettingsBody>;
}

/** A deployment as the API shows it (`GET /v1/deployments/{id}`, and the answer to its creation). */
export interface DeploymentResponse {
  id: string;
  shape: DeploymentShapeBody & { groups: number | null };
  windows: HeatWindowsBody;
  /** The latest map version (not necessarily the one every layer is on: see the rollouts). */
  mapVersion: number;
  settings: PolicySettingsBody & { version: number };
  createdAt: string;
}

/** `GET /v1/deployments`: a page by id; `next` is the `after` of the next page, null at the end. */
export interface DeploymentListResponse {
  items: DeploymentResponse[];
  next: string | null;
}

// Public surface of the pure domain. Nothing here imports Nest, Kafka or a database.
export * from './errors';
export * from './shape/deployment-shape';
export * from './shape/deployment-id';
export * from './expert-map/physical-to-logical';
export * from './formats';
export * from './expert-map/initial-map';
export * from './windows';
export * from './expert-map/replicas';
export { toHeatEpisodes, windowSum, decayWeights } from './heat/heat';
export type { HeatEpisodes } from './heat/heat';
export { rankLoads, imbalance, layerImbalance, meanEpisodeImbalance } from './heat/imbalance';
export type { LayerImbalance } from './heat/imbalance';
export type { PolicyInput, PolicyOptions, PolicyResult, LayerReport, LayerCertainty } from './policy/types';
export { getPolicy, policyNames, assertPolicyInput } from './policy/registry';
export type { Policy } from './policy/registry';
export {
  layerTransfers,
  alignToCurrent,
  planTransfers,
  inverseTransferPlan,
  applyTransferPlan,
} from './transfer/transfer-plan';
export type { TransferPlan, LayerTransferPlan, ExpertReceive, Link } from './transfer/transfer-plan';
export { heatFileToInput, planFileDocument } from './policy/heat-file';
export { heatFileFromBytes, heatFileFromText } from './policy/heat-file-text';
export * from './simulation';
export * from './proposal';
export * from './rollout';
export * from './map-diff';
export * from './loop/auto-rollout';
export * from './loop/lost-ranks';
export * from './loop/emergency-map';
export * from './outcome/rollout-outcome';
export * from './outcome/same-heat';

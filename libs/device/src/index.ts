export type { DeviceBackend, StagingOptions } from './backend';
export { SimulatedBackend } from './simulated-backend';
export type { SimulatedBackendOptions, SimulatedFaults } from './simulated-backend';
export type { PeerAddress } from './peer-link';
export type { SimulatedBackendSnapshot, SlotSnapshot } from './simulated-snapshot';
export { expertWeights, checksum, expectedChecksum, weightManifest } from './weights';
export { encodeFrame, FrameReader, Throttle, MAX_HEADER, MAX_BODY } from './wire';
export type { Frame } from './wire';
export { CommandExecutor } from './command-executor';

export type { DeviceBackend } from './backend';
export { SimulatedBackend } from './simulated-backend';
export type { SimulatedBackendOptions, SimulatedFaults, PeerAddress, SimulatedBackendSnapshot, SlotSnapshot } from './simulated-backend';
export { expertWeights, checksum, expectedChecksum, weightManifest } from './weights';
export { encodeFrame, FrameReader, Throttle, MAX_HEADER, MAX_BODY } from './wire';
export type { Frame } from './wire';
export { CommandExecutor } from './command-executor';

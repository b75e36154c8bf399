export * from './prng';
export * from './router-model';
export * from './slot-loads';
export * from './cluster';
export * from './zipf-windows';

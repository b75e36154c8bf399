export * from './window-shape';
export * from './episode';
export * from './episode-stream';

// Public surface of the pure domain. Nothing here imports Nest, Kafka or a database.
export * from './errors';
export * from './shape/deployment-shape';
export * from './expert-map/physical-to-logical';
export * from './formats';
export * from './expert-map/initial-map';
export * from './windows';
export * from './simulation';

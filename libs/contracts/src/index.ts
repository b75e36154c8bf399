export * from './topics';
export * from './heat/heat-event.v1';
export * from './dead-letter/dead-letter';

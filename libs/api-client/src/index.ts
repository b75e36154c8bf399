export { ApiClient, type ApiClientOptions, type EventsQuery, type HeatRangeQuery, type HeatResolution } from './api-client';
export { ApiProblem, ApiUnreachable } from './api-problem';
export { allPages, type Paged } from './all-pages';
export { readEventStream, type ServerSentEvent } from './event-stream';

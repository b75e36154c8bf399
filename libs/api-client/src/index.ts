export { ApiClient, type ApiClientOptions, type EventsQuery, type HeatRangeQuery, type HeatResolution } from './api-client';
export { ApiProblem, ApiUnreachable } from './api-problem';

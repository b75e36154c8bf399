export { ApiClient, type ApiClientOptions, type EventsQuery, type HeatRangeQuery } from './api-client';
export { ApiProblem, ApiUnreachable } from './api-problem';

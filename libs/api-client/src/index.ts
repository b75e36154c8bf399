export { ApiClient, type ApiClientOptions, type HeatRangeQuery } from './api-client';
export { ApiProblem, ApiUnreachable } from './api-problem';

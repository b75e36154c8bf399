import { Provider, Type } from '@nestjs/common';
import { MetricsController } from '../metrics/metrics.controller';
import { HealthController } from './health.controller';
import { READINESS_CHECKS, ReadinessCheck } from './readiness';

/** /healthz, /readyz and /metrics: list these among an HTTP app's controllers. */
export const healthControllers = [HealthController, MetricsController];

/** The checks /readyz runs; each is a provider exported by the module owning that connection. */
export const readinessChecks = (...checks: Type<ReadinessCheck>[]): Provider => ({
  provide: READINESS_CHECKS,
  useFactory: (...instances: ReadinessCheck[]) => instances,
  inject: checks,
});

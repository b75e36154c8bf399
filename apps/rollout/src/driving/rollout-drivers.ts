import { Injectable } from '@nestjs/common';
import { DeploymentDriver } from './deployment-driver';

/**
 * The deployments this instance drives now (one driver each, while it holds the deployment's
 * lock), and whether the instance is closing: every loop stops taking work once it is.
 */
@Injectable()
export class RolloutDrivers {
  closed = false;
  private readonly drivers = new Map<string, DeploymentDriver>();

  get(deployment: string): DeploymentDriver | undefined {
    return this.drivers.get(deployment);
  }

  has(deployment: string): boolean {
    return this.drivers.has(deployment);
  }

  all(): DeploymentDriver[] {
    return [...this.drivers.values()];
  }

  deployments(): string[] {
    return [...this.drivers.keys()];
  }

  add(d: DeploymentDriver): void {
    this.drivers.set(d.deployment, d);
  }

  /** True when `d` is (still) the deployment's driver, not one that was replaced or dropped. */
  current(d: DeploymentDriver): boolean {
    return this.drivers.get(d.deployment) === d;
  }

  /** Forgets `d` if it is still the deployment's driver; true if it was. */
  remove(d: DeploymentDriver): boolean {
    if (!this.current(d)) return false;
    this.drivers.delete(d.deployment);
    return true;
  }

  clear(): void {
    this.drivers.clear();
  }
}

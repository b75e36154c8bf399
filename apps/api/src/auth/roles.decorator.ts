import { SetMetadata } from '@nestjs/common';
import type { Role } from '@eplb/persistence';

export const ROLES_KEY = 'eplb:roles';
/** The roles allowed to call a route; a route with neither @Roles nor @Public is refused. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

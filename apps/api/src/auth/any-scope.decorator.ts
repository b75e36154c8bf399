import { SetMetadata } from '@nestjs/common';

export const ANY_SCOPE_KEY = 'eplb:any-scope';
/**
 * A route about the caller itself rather than a deployment: a scoped (agent) token may call it
 * too, where it would otherwise be refused for naming no deployment.
 */
export const AnyScope = () => SetMetadata(ANY_SCOPE_KEY, true);

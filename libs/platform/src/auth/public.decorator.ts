import { SetMetadata } from '@nestjs/common';

/** Marks a route as open without a token (health, metrics). Everything else is closed by default. */
export const IS_PUBLIC = 'eplb:public';
export const Public = () => SetMetadata(IS_PUBLIC, true);

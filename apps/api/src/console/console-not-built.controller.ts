import { Controller, Get, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public, PROBLEM_TYPES, ProblemError } from '@eplb/platform';

/** Where the API looked for the built console (an absolute path). */
export const CONSOLE_DIR = Symbol('CONSOLE_DIR');

/**
 * Answers /console when the API started without a built console (a source checkout before
 * `npm run build`): a problem saying what to do, rather than a missing file's path.
 */
@ApiExcludeController()
@Controller('console')
export class ConsoleNotBuiltController {
  constructor(@Inject(CONSOLE_DIR) private readonly consoleDir: string) {}

  @Get(['', '*path'])
  @Public()
  notBuilt(): never {
    throw new ProblemError({
      type: PROBLEM_TYPES.notFound,
      title: 'Console not built',
      status: 404,
      detail: `no web console in ${this.consoleDir}: run npm run build (or set CONSOLE_DIR)`,
    });
  }
}

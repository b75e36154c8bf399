import { ApiProblem, ApiUnreachable } from '@eplb/api-client';

/** An error as the API put it: its problem+json title and detail, never a stack. */
export function ProblemView({ error }: { error: unknown }) {
  const { title, detail } = describe(error);
  return (
    <div class="problem" role="alert" data-testid="problem">
      <strong class="problem-title">{title}</strong>
      {detail ? <p class="problem-detail">{detail}</p> : null}
    </div>
  );
}

function describe(error: unknown): { title: string; detail: string } {
  if (error instanceof ApiProblem) return { title: error.title, detail: error.detail };
  if (error instanceof ApiUnreachable) return { title: 'API unreachable', detail: error.reason };
  return { title: 'Something went wrong', detail: error instanceof Error ? error.message : String(error) };
}

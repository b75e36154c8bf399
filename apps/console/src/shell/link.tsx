import type { ComponentChildren } from 'preact';
import { hrefOf, navigate, Route } from './route';

/** A link to a console page: a real href (open in a new tab works), followed in place on a plain click. */
export function Link({ to, children, testId }: { to: Route; children: ComponentChildren; testId?: string }) {
  return (
    <a
      href={hrefOf(to)}
      data-testid={testId}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

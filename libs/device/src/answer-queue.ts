/** What the queue needs of the served connection. */
export interface AnswerSocket {
  readonly destroyed: boolean;
  write(data: Buffer): boolean;
  destroy(): void;
}

/** An answer waiting for its turn: the frame (null: an injected drop of the connection) and the weights it carries. */
interface Due {
  readonly at: number;
  readonly frame: Buffer | null;
  readonly bytes: number;
  readonly experts: number;
}

/**
 * One served connection's answers in request order, each written when the sender's throttle lets
 * it go; all that are due at once leave in one write (one wake-up of the peer).
 */
export class AnswerQueue {
  private readonly due: Due[] = [];
  private timer: NodeJS.Timeout | null = null;
  private last = 0;

  constructor(
    private readonly socket: AnswerSocket,
    private readonly traffic: { sent: number; fetches: number; answers: number },
  ) {}

  /** Queues an answer that may go `waitMs` from now, never before the ones queued earlier. */
  push(waitMs: number, frame: Buffer | null, bytes = 0, experts = 0): void {
    const at = Math.max(this.last, waitMs > 0 ? Date.now() + waitMs : 0);
    this.last = at;
    this.due.push({ at, frame, bytes, experts });
  }

  /** Writes what is due now (one write) and sets a timer for the next one. */
  flush(): void {
    if (this.timer || this.due.length === 0) return;
    const now = Date.now();
    const out: Due[] = [];
    let k = 0;
    for (; k < this.due.length && this.due[k].at - now < 1; k++) {
      if (this.due[k].frame === null) {
        this.write(out);
        this.due.length = 0;
        this.socket.destroy();
        return;
      }
      out.push(this.due[k]);
    }
    this.due.splice(0, k);
    this.write(out);
    if (this.due.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.due[0].at - now);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.length = 0;
  }

  private write(answers: Due[]): void {
    if (answers.length === 0 || this.socket.destroyed) return;
    const frames = answers.map((a) => a.frame as Buffer);
    this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
    for (const a of answers) {
      this.traffic.sent += a.bytes;
      this.traffic.fetches += a.experts;
      this.traffic.answers++;
    }
  }
}

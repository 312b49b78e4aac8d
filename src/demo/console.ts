// What `lqr start` shows a person: progress of the start-up steps (on stderr), the
// summary, and the live status (on stdout). On a terminal a step or the status is one
// line rewritten in place; elsewhere (a pipe, a log file, CI) nothing is rewritten:
// a step prints when it starts, every few seconds while it takes long, and when it
// ends, and the status is a line every few seconds.

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** One stream, with at most one line that is being rewritten (the "live" line). */
class Line {
  private live = false;
  constructor(readonly out: Output) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  private fit(text: string): string {
    const width = (this.out.columns ?? 100) - 1;
    return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
  }

  /** A finished line (the live line, if any, is replaced by it and redrawn by its owner later). */
  print(text: string): void {
    try {
      this.out.write(`${this.live ? CLEAR_LINE : ''}${text}\n`);
    } catch {
      // a closed pipe: nothing to show it on
    }
    this.live = false;
  }

  /** Rewrite the live line (terminals only). */
  rewrite(text: string): void {
    try {
      this.out.write(`${CLEAR_LINE}${this.fit(text)}`);
    } catch {
      // closed
    }
    this.live = true;
  }

  /** End the live line where it is. */
  settle(): void {
    if (!this.live) return;
    try {
      this.out.write('\n');
    } catch {
      // closed
    }
    this.live = false;
  }
}

export interface Step {
  /** Detail shown beside the label while the step runs ("lab-0 initial-load, 1,200 events"). */
  update(detail: string): void;
  done(detail?: string): void;
  fail(detail?: string): void;
}

export class DemoConsole {
  private readonly err: Line;
  private readonly out: Line;
  private current?: { label: string; startedAt: number; detail: string; timer: NodeJS.Timeout; lastReport: number };

  constructor(
    stdout: Output,
    stderr: Output,
    private readonly opts: { clock?: () => number; slowReportMs?: number } = {},
  ) {
    this.out = new Line(stdout);
    this.err = new Line(stderr);
  }

  private now(): number {
    return (this.opts.clock ?? Date.now)();
  }

  get stdoutIsTTY(): boolean {
    return this.out.tty;
  }

  /** A line of progress or a note (stderr). */
  note(text: string): void {
    this.err.print(text);
    this.redrawStep();
  }

  /** A line of the summary or an event while running (stdout). */
  say(text: string): void {
    this.out.print(text);
  }

  /** The live status: rewritten on a terminal, a new line elsewhere. */
  status(text: string): void {
    if (this.out.tty) this.out.rewrite(text);
    else this.out.print(text);
  }

  /** Finish the live status line (before the shutdown messages). */
  endStatus(): void {
    this.out.settle();
  }

  /**
   * A start-up step. On a terminal it shows a running clock; elsewhere it prints at the
   * start, every `slowReportMs` (default 5 s) while it runs, and at the end.
   */
  step(label: string): Step {
    this.finishCurrent('(interrupted)', false);
    const startedAt = this.now();
    const every = this.opts.slowReportMs ?? 5_000;
    const tick = () => {
      const c = this.current;
      if (!c) return;
      const t = this.now();
      if (this.err.tty) this.drawStep();
      else if (t - c.lastReport >= every) {
        c.lastReport = t;
        this.err.print(`  … ${c.label}: ${seconds(t - c.startedAt)}${c.detail ? `, ${c.detail}` : ''}`);
      }
    };
    const timer = setInterval(tick, 1_000);
    timer.unref();
    this.current = { label, startedAt, detail: '', timer, lastReport: startedAt };
    if (this.err.tty) this.drawStep();
    else this.err.print(`${label} …`);
    let finished = false;
    const mine = this.current;
    const isCurrent = () => this.current === mine;
    return {
      update: (detail: string) => {
        if (!isCurrent() || finished) return;
        mine.detail = detail;
        if (this.err.tty) this.drawStep();
      },
      done: (detail?: string) => {
        if (finished) return;
        finished = true;
        if (isCurrent()) this.finishCurrent(detail, true);
      },
      fail: (detail?: string) => {
        if (finished) return;
        finished = true;
        if (isCurrent()) this.finishCurrent(detail ?? 'failed', false);
      },
    };
  }

  private drawStep(): void {
    const c = this.current;
    if (!c) return;
    const elapsed = this.now() - c.startedAt;
    this.err.rewrite(`${c.label} … ${elapsed >= 1_000 ? seconds(elapsed) : ''}${c.detail ? `  ${c.detail}` : ''}`);
  }

  private redrawStep(): void {
    if (this.current && this.err.tty) this.drawStep();
  }

  private finishCurrent(detail: string | undefined, ok: boolean): void {
    const c = this.current;
    if (!c) return;
    clearInterval(c.timer);
    this.current = undefined;
    const elapsed = this.now() - c.startedAt;
    const time = elapsed >= 1_000 ? ` in ${seconds(elapsed)}` : '';
    this.err.print(ok ? `${c.label}: done${time}${detail ? ` (${detail})` : ''}` : `${c.label}: ${detail ?? 'failed'}${time}`);
  }
}

/** 12345 -> "12,345". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

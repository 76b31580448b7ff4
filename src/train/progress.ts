/**
 * Progress of a training run: a one-line bar redrawn in place on a terminal (images/s, loss, accuracy, ETA), plain
 * log lines otherwise (one per evaluation, and one per minute between evaluations).
 */
export interface StepProgress {
  step: number;
  totalSteps: number;
  /** Images per second over this session. */
  imagesPerSecond: number;
  /** Running training loss and accuracy since the last evaluation. */
  loss: number;
  accuracy: number;
  /** Seconds left at the current rate. */
  etaSeconds: number;
  /** Share of this session's time spent waiting for training batches: near 1 means the input pipeline is the limit. */
  dataWaitFraction: number;
}

export interface EvalProgress {
  step: number;
  totalSteps: number;
  valLoss: number;
  valAccuracy: number;
  trainLoss: number | null;
  trainAccuracy: number | null;
  learningRate: number;
  wallSeconds: number;
}

export interface ProgressReporter {
  step(p: StepProgress): void;
  evaluation(p: EvalProgress): void;
  /** Clears the bar; call before logging anything else and at the end. */
  done(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(rest).padStart(2, '0')}s` : `${rest}s`;
}

const percent = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);

function evalLine(label: string, p: EvalProgress): string {
  const train = p.trainLoss === null ? '' : ` train loss ${p.trainLoss.toFixed(4)} acc ${percent(p.trainAccuracy)} |`;
  return (
    `[${label}] step ${p.step}/${p.totalSteps} |${train} val loss ${p.valLoss.toFixed(4)} ` +
    `acc ${percent(p.valAccuracy)} | lr ${p.learningRate.toPrecision(3)} | ${formatDuration(p.wallSeconds)}`
  );
}

class TerminalBar implements ProgressReporter {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  step(p: StepProgress): void {
    const now = Date.now();
    if (now - this.lastDraw < 200 && p.step < p.totalSteps) return;
    this.lastDraw = now;
    const width = 20;
    const filled = Math.round((width * p.step) / Math.max(1, p.totalSteps));
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const line =
      `[${this.label}] [${bar}] ${p.step}/${p.totalSteps} | ETA ${formatDuration(p.etaSeconds)} | ` +
      `${p.imagesPerSecond.toFixed(1)} img/s | data wait ${percent(p.dataWaitFraction)} | loss ${p.loss.toFixed(4)} | ` +
      `acc ${percent(p.accuracy)}`;
    const columns = this.stream.columns ?? 120;
    this.stream.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  evaluation(p: EvalProgress): void {
    this.done();
    this.stream.write(evalLine(this.label, p) + '\n');
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

class PlainLines implements ProgressReporter {
  private lastLine = Date.now();

  constructor(
    private readonly label: string,
    private readonly log: (line: string) => void,
  ) {}

  step(p: StepProgress): void {
    if (Date.now() - this.lastLine < 60_000) return;
    this.lastLine = Date.now();
    this.log(
      `[${this.label}] step ${p.step}/${p.totalSteps} | ${p.imagesPerSecond.toFixed(1)} img/s | ` +
        `data wait ${percent(p.dataWaitFraction)} | loss ${p.loss.toFixed(4)} | acc ${percent(p.accuracy)} | ` +
        `ETA ${formatDuration(p.etaSeconds)}`,
    );
  }

  evaluation(p: EvalProgress): void {
    this.lastLine = Date.now();
    this.log(evalLine(this.label, p));
  }

  done(): void {}
}

/** A bar when `stream` is a terminal, plain lines through `log` otherwise. */
export function createProgress(
  label: string,
  log: (line: string) => void,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  return stream.isTTY ? new TerminalBar(label, stream) : new PlainLines(label, log);
}

/** Reports nothing (tests). */
export const silentProgress: ProgressReporter = { step() {}, evaluation() {}, done() {} };

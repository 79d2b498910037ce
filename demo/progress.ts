// Loss reporting for the demo: on a terminal, a progress bar per epoch redrawn in place and
// closed with the epoch's loss; elsewhere (a pipe, CI, a container log), one plain line per
// epoch. Formatting is pure (formatBar, formatEpochLine) so it can be tested without a TTY.

/** `[#######.............]` for a fraction in [0, 1]. */
export function formatBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export interface EpochLine {
  model: string;
  epoch: number;
  epochs: number;
  loss: number;
  /** Extra fields shown after the loss, e.g. { steps: 32, acc: '97.1%' }. */
  extra?: Record<string, string | number>;
  /** Free text at the end, e.g. '(before training)'. */
  suffix?: string;
}

/** `mlp  epoch 2/5  loss 0.123456  steps 64` (epoch 0 is the loss before training). */
export function formatEpochLine(l: EpochLine): string {
  const width = String(l.epochs).length;
  const head = `${l.model.padEnd(4)} epoch ${String(l.epoch).padStart(width)}/${l.epochs}`;
  const tail = Object.entries(l.extra ?? {})
    .map(([k, v]) => `  ${k} ${v}`)
    .join('');
  return `${head}  loss ${formatLoss(l.loss)}${tail}${l.suffix === undefined ? '' : `  ${l.suffix}`}`;
}

export function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(6) : String(loss);
}

/** Where the reporter writes; process.stdout fits. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Progress of one model's epochs. On a TTY, update() redraws the current epoch's bar (at most
 * every 50 ms) and epochDone() replaces it with the final line; otherwise update() prints
 * nothing and epochDone() prints the line.
 */
export class EpochProgress {
  readonly #out: Output;
  readonly #tty: boolean;
  #drawn = false;
  #lastDraw = 0;
  #last = '';

  constructor(out: Output, tty = out.isTTY === true) {
    this.#out = out;
    this.#tty = tty;
  }

  get tty(): boolean {
    return this.#tty;
  }

  /** Progress inside an epoch: `done` of `total` steps, the running mean of the batch losses. */
  update(model: string, epoch: number, epochs: number, done: number, total: number, batchLoss: number): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (done < total && now - this.#lastDraw < 50) return;
    this.#lastDraw = now;
    const width = String(epochs).length;
    const line =
      `${model.padEnd(4)} epoch ${String(epoch).padStart(width)}/${epochs} ${formatBar(total === 0 ? 1 : done / total)} ` +
      `${String(done).padStart(String(total).length)}/${total}  batch loss ${formatLoss(batchLoss)}`;
    const columns = this.#out.columns !== undefined && this.#out.columns > 0 ? this.#out.columns : 120;
    const text = line.slice(0, Math.max(20, columns - 1));
    if (this.#drawn && text === this.#last) return;
    this.#out.write(`\r${text}\x1b[K`);
    this.#last = text;
    this.#drawn = true;
  }

  /** The epoch's loss (over the whole training set): one finished line. */
  epochDone(line: EpochLine): void {
    this.#out.write(`${this.#tty && this.#drawn ? '\r\x1b[K' : ''}${formatEpochLine(line)}\n`);
    this.#drawn = false;
  }

  /** Any other message, on its own line (closes a bar in progress). */
  note(text: string): void {
    this.#out.write(`${this.#tty && this.#drawn ? '\n' : ''}${text}\n`);
    this.#drawn = false;
  }
}

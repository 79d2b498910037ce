// error-reason.ts: machine-readable reasons a refusal carries beside its gRPC status, for the
// refusals a client acts on (rather than shows). The server sends them as trailing metadata, so
// a raw gRPC client reads them too (docs/api.md, "Errors"); the message text stays for people
// and may change, the reason and its fields do not.
//
//   gluonps-reason: stale-step          a push or step for a step that is closed or not open yet
//   gluonps-step: N                      the step the call named
//   gluonps-trainer-step: M              the trainer's step count (steps applied) when it refused

/** The metadata key of the reason. */
export const REASON_METADATA_KEY = 'gluonps-reason';
/** Fields of a reason travel as `gluonps-<field>` metadata entries. */
export const REASON_FIELD_PREFIX = 'gluonps-';

/** Every reason the server sends. */
export const ERROR_REASONS = ['stale-step'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** A reason and its fields (each a decimal or short text, sent as `gluonps-<field>: value`). */
export interface ErrorInfo {
  reason: ErrorReason;
  fields?: Readonly<Record<string, string>>;
}

/** `value` when it is a reason this code knows, else undefined (a newer server's reason is ignored). */
export function parseReason(value: unknown): ErrorReason | undefined {
  return typeof value === 'string' && (ERROR_REASONS as readonly string[]).includes(value)
    ? (value as ErrorReason)
    : undefined;
}

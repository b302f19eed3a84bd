// The outbox's retry policy: which refusals of a `send` are worth another try, and when.
//
// The error table (docs/protocol.md) gives each code an HTTP status; the generated TypeScript
// carries only the names, so the transient ones are listed here once. Everything else is
// permanent: the same request would be refused again (bad input, no permission, not a
// participant, the session ended, an id reused for other text …), so the message is marked
// failed at once and the agent chooses to retry or discard it.

/**
 * Codes after which the same `send` (same `client_msg_id`) may succeed later: the server or a
 * dependency is briefly unavailable, the caller is over their rate, the request timed out, or
 * the connection is going away (it is resent after the next `welcome`).
 * Plain strings: codes a newer server may add are recognised before the types are regenerated.
 */
export const RETRYABLE_SEND_ERRORS: ReadonlySet<string> = new Set([
  'rate_limited',
  'unavailable',
  'request_timeout',
  'shutting_down',
  'slow_consumer',
  'internal',
]);

export interface RetryPolicy {
  /** Delay before the first retry (ms); doubles per attempt. */
  baseDelayMs: number;
  /** Upper bound of one delay (ms). */
  maxDelayMs: number;
  /** Refusals of one send before it is marked failed (a retryable code included). */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 30_000, maxAttempts: 6 };

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

export function isRetryableSendError(code: string): boolean {
  return RETRYABLE_SEND_ERRORS.has(code);
}

/** The wait a `rate_limited` message names ("… retry in 250 ms", "… in 2 s"), in ms. */
export function retryHintMs(message: string): number | null {
  const m = /retry in (\d+(?:\.\d+)?)\s*(ms|s)\b/i.exec(message);
  if (!m) return null;
  const n = Number(m[1]);
  return Math.ceil(m[2].toLowerCase() === 's' ? n * 1000 : n);
}

/**
 * Exponential back-off with jitter: attempt 1 waits between half and all of `baseDelayMs`,
 * each further attempt doubles that, never beyond `maxDelayMs`.
 */
export function backoffDelay(attempt: number, random: () => number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * What to do after the server refused a send for the `attempt`-th time (1 = the first refusal):
 * retry after a delay (a `rate_limited` wait is honoured), or give up.
 */
export function decideRetry(
  code: string,
  message: string,
  attempt: number,
  random: () => number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryDecision {
  if (!isRetryableSendError(code) || attempt >= policy.maxAttempts) return { retry: false };
  const delay = backoffDelay(attempt, random, policy);
  const hint = code === 'rate_limited' ? retryHintMs(message) : null;
  return { retry: true, delayMs: hint !== null ? Math.max(delay, hint) : delay };
}

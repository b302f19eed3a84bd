import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './generated';
import { DEFAULT_RETRY_POLICY, RETRYABLE_SEND_ERRORS, backoffDelay, decideRetry, isRetryableSendError, retryHintMs } from './outbox';

const policy = { baseDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 6 };

describe('outbox retry policy', () => {
  it('retries transient refusals and gives up at once on permanent ones', () => {
    const transient = ['rate_limited', 'unavailable', 'request_timeout', 'shutting_down', 'internal'];
    expect(transient.filter(isRetryableSendError)).toEqual(transient);
    const permanent = [
      'invalid_request',
      'empty_message',
      'message_too_large',
      'payload_too_large',
      'not_participant',
      'im_not_permitted',
      'idempotency_conflict',
      'session_ended',
      'session_not_found',
      'malformed_request',
    ];
    expect(permanent.filter(isRetryableSendError)).toEqual([]);
    expect(permanent.map((code) => decideRetry(code, 'no', 1, () => 0.5, policy).retry)).toEqual(permanent.map(() => false));
  });

  it('lists only codes of the protocol (or the request time-out a newer server sends)', () => {
    const known = new Set<string>([...ERROR_CODES, 'request_timeout']);
    expect([...RETRYABLE_SEND_ERRORS].filter((c) => !known.has(c))).toEqual([]);
  });

  it('backs off exponentially with jitter, capped', () => {
    const low = (n: number) => backoffDelay(n, () => 0, policy);
    const high = (n: number) => backoffDelay(n, () => 1, policy);
    expect([1, 2, 3, 4, 5, 6, 7].map(high)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect([1, 2, 3].map(low)).toEqual([500, 1000, 2000]);
    // jitter: two desktops refused together do not come back together
    expect(backoffDelay(3, () => 0.25, policy)).not.toBe(backoffDelay(3, () => 0.75, policy));
    expect(backoffDelay(100, () => 1, policy)).toBe(30_000);
  });

  it('gives up on a retryable refusal after the last attempt', () => {
    expect(decideRetry('unavailable', 'down', 1, () => 1, policy)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry('unavailable', 'down', 5, () => 1, policy)).toEqual({ retry: true, delayMs: 16000 });
    expect(decideRetry('unavailable', 'down', 6, () => 1, policy)).toEqual({ retry: false });
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBeGreaterThan(1);
  });

  it('honours the wait a rate_limited refusal names', () => {
    expect(retryHintMs('too many requests: retry in 4500 ms')).toBe(4500);
    expect(retryHintMs('too many calls are being placed: retry in 2 s')).toBe(2000);
    expect(retryHintMs('too many calls are being placed: retry in a few seconds')).toBeNull();
    expect(decideRetry('rate_limited', 'too many requests: retry in 4500 ms', 1, () => 1, policy)).toEqual({ retry: true, delayMs: 4500 });
    // a shorter hint than the back-off does not shorten it
    expect(decideRetry('rate_limited', 'too many requests: retry in 5 ms', 3, () => 1, policy)).toEqual({ retry: true, delayMs: 4000 });
    // the hint counts only for rate_limited
    expect(decideRetry('unavailable', 'retry in 9000 ms', 1, () => 1, policy)).toEqual({ retry: true, delayMs: 1000 });
  });
});

import { describe, expect, it, vi } from 'vitest';
import { parseSsoFragment, takeSsoReturn } from './sso';

describe('the single sign-on fragment', () => {
  it('reads the one-time code or the refusal', () => {
    expect(parseSsoFragment('#sso=abc_-1')).toEqual({ code: 'abc_-1', error: null, message: null });
    expect(parseSsoFragment('#sso_error=sso_not_permitted&message=no%20rule%20matches')).toEqual({
      code: null,
      error: 'sso_not_permitted',
      message: 'no rule matches',
    });
    expect(parseSsoFragment('')).toBeNull();
    expect(parseSsoFragment('#section')).toBeNull();
    expect(parseSsoFragment('#sso=')).toBeNull();
  });

  it('removes the code from the address', () => {
    const replaceState = vi.fn();
    const sso = takeSsoReturn({ hash: '#sso=abc', pathname: '/', search: '' }, { replaceState });
    expect(sso?.code).toBe('abc');
    expect(replaceState).toHaveBeenCalledWith(null, '', '/');
    const none = vi.fn();
    expect(takeSsoReturn({ hash: '', pathname: '/', search: '' }, { replaceState: none })).toBeNull();
    expect(none).not.toHaveBeenCalled();
  });
});

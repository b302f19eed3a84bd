import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/react';
import { SignIn } from './SignIn';

afterEach(cleanup);

const sso = { display_name: 'Corp IdP', start_url: '/api/v1/auth/oidc/start' };

describe('SignIn', () => {
  it('offers the identity provider beside the password form', () => {
    render(<SignIn notice={null} error={null} busy={false} methods={{ passwords: true, sso }} onSignIn={vi.fn()} />);
    const link = screen.getByRole('link', { name: 'Sign in with Corp IdP' });
    expect(link.getAttribute('href')).toBe('/api/v1/auth/oidc/start');
    expect(screen.getByLabelText('Username')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Sign In' })).toBeTruthy();
  });

  it('hides the password form when passwords are switched off', () => {
    render(<SignIn notice={null} error="Single sign-on failed" busy={false} methods={{ passwords: false, sso }} onSignIn={vi.fn()} />);
    expect(screen.getByRole('link', { name: 'Sign in with Corp IdP' })).toBeTruthy();
    expect(screen.queryByLabelText('Username')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Sign In' })).toBeNull();
    expect(screen.getByRole('alert').textContent).toBe('Single sign-on failed');
  });

  it('shows the password form alone while the methods are unknown or without single sign-on', () => {
    render(<SignIn notice={null} error={null} busy={false} methods={null} onSignIn={vi.fn()} />);
    expect(screen.queryByRole('link')).toBeNull();
    expect(screen.getByLabelText('Password')).toBeTruthy();
  });
});

import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { SignInMethods } from '../../../protocol/generated';

export interface SignInProps {
  notice: string | null;
  error: string | null;
  busy: boolean;
  /** null until known: the password form shows, and no identity provider. */
  methods?: SignInMethods | null;
  onSignIn: (username: string, password: string) => void;
}

export function SignIn({ notice, error, busy, methods = null, onSignIn }: SignInProps) {
  const passwords = methods?.passwords ?? true;
  const sso = methods?.sso ?? null;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const userRef = useRef<HTMLInputElement>(null);
  useEffect(() => userRef.current?.focus(), []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (username && password) onSignIn(username.trim(), password);
  };
  return (
    <main className="sign-in">
      <form className="sign-in-card" onSubmit={submit} aria-labelledby="sign-in-title">
        <div className="brand-mark" aria-hidden="true">
          B
        </div>
        <h1 id="sign-in-title">Backline</h1>
        <p className="subtitle">Sign in to the agent desktop</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        {sso && (
          <a className="button primary sso" href={sso.start_url}>
            Sign in with {sso.display_name}
          </a>
        )}
        {sso && passwords && <p className="divider">or with a password</p>}
        {passwords && (
          <>
            <label htmlFor="username">Username</label>
            <input id="username" name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required ref={userRef} />
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
            <button type="submit" className={sso ? undefined : 'primary'} disabled={busy}>
              {busy ? 'Signing in…' : 'Sign In'}
            </button>
          </>
        )}
      </form>
    </main>
  );
}

import { useEffect, useRef, useState, type FormEvent } from 'react';

export interface SignInProps {
  notice: string | null;
  error: string | null;
  busy: boolean;
  onSignIn: (username: string, password: string) => void;
}

export function SignIn({ notice, error, busy, onSignIn }: SignInProps) {
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
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign In'}
        </button>
      </form>
    </main>
  );
}

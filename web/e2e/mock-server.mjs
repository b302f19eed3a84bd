#!/usr/bin/env node
// A small in-memory stand-in for the Backline server (REST + WebSocket subset of docs/protocol.md),
// for developing and smoke-testing the web desktop while the Rust server is not available:
//   node e2e/mock-server.mjs --bind 127.0.0.1:8080 --web-dir dist
// It is NOT the product and is not used by `npm run e2e` unless BACKLINE_MOCK=1.
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const [host, port] = opt('--bind', '127.0.0.1:8080').split(':');
const webDir = resolve(opt('--web-dir', 'dist'));
const inviteTimeoutMs = Number(process.env.BACKLINE_IM__INVITE_TIMEOUT_SECS ?? 30) * 1000;

const names = {
  admin: 'Ada Admin', alice: 'Alice Agent', bob: 'Bob Builder', carol: 'Carol Carter', dave: 'Dave Diaz',
  erin: 'Erin Evans', frank: 'Frank Fischer', grace: 'Grace Green', heidi: 'Heidi Hall', ivan: 'Ivan Ivanov',
  judy: 'Judy Jones', mallory: 'Mallory Mole',
};
const users = new Map();
for (const [username, display_name] of Object.entries(names)) {
  users.set(`u-${username}`, {
    id: `u-${username}`, username, display_name,
    roles: username === 'admin' ? ['admin'] : ['ivan', 'judy'].includes(username) ? ['supervisor'] : ['agent'],
    groups: username === 'admin' ? [] : [{ id: 'g-support', name: 'Support' }],
    im_permitted: username !== 'mallory', status: 'ready', reason: null, zoom: 100,
    events: [], favourites: new Set(), recent: [],
  });
}
const tokens = new Map();
const sessions = new Map();
const conns = new Set();
const reasons = [{ code: 'lunch', label: 'Lunch' }, { code: 'training', label: 'Training' }, { code: 'meeting', label: 'Meeting' }];

const effective = (u) => ([...conns].some((c) => c.user === u) ? u.status : 'offline');
const meView = (u) => ({
  id: u.id, username: u.username, display_name: u.display_name, roles: u.roles, groups: u.groups,
  im_permitted: u.im_permitted, status: u.status, reason: u.reason, preferences: { zoom: u.zoom }, head: u.events.length,
});
function emit(u, event) {
  const ev = { seq: u.events.length + 1, ts: Date.now(), event };
  u.events.push(ev);
  for (const c of conns) if (c.user === u && c.ready) c.send({ type: 'event', ...ev });
}
function broadcastPresence(u) {
  for (const c of conns) if (c.ready && c.watched.has(u.id)) c.send({ type: 'presence', user_id: u.id, status: effective(u), reason: u.reason });
}
function sessionView(s, u) {
  const me = s.participants.find((p) => p.user_id === u.id);
  const msgs = s.entries.filter((e) => e.kind === 'message');
  return {
    id: s.id, state: s.state, created_by: s.created_by, created_at: s.created_at, ended_at: s.ended_at, ended_by: s.ended_by,
    participants: s.participants.map((p) => ({ ...p })),
    last_seq: s.entries.length,
    unread: msgs.filter((e) => e.actor_id !== u.id && e.seq > (me?.read_seq ?? 0)).length,
    last_message: msgs.at(-1) ?? null,
  };
}
function addEntry(s, kind, actor, extra = {}) {
  const e = {
    session_id: s.id, seq: s.entries.length + 1, ts: Date.now(), kind, actor_id: actor.id, actor_name: actor.display_name,
    subject_id: null, subject_name: null, text: null, client_msg_id: null, ...extra,
  };
  s.entries.push(e);
  return e;
}
function publish(s, entries) {
  for (const p of s.participants) {
    if (p.state === 'not_invited' || s.done.has(p.user_id)) continue;
    const u = users.get(p.user_id);
    for (const e of entries) emit(u, { kind: 'transcript', session_id: s.id, entry: e });
    emit(u, { kind: 'session', session: sessionView(s, u) });
  }
}
class HttpError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
const fail = (status, code, message) => { throw new HttpError(status, code, message); };
function getSession(id, u) {
  const s = sessions.get(id);
  if (!s) fail(404, 'session_not_found', 'No IM session has this id.');
  const p = s.participants.find((x) => x.user_id === u.id);
  if (!p) fail(403, 'not_participant', 'You do not take part in this session.');
  return [s, p];
}
function maybeEnd(s, actor) {
  const active = s.participants.filter((p) => p.state === 'joined' || p.state === 'invited');
  if (active.length <= 1 && s.state !== 'ended') {
    s.state = 'ended'; s.ended_at = Date.now(); s.ended_by = actor.id;
  }
}
function sendMessage(u, id, client_msg_id, text) {
  const [s, p] = getSession(id, u);
  const dup = s.entries.find((e) => e.kind === 'message' && e.actor_id === u.id && e.client_msg_id === client_msg_id);
  if (dup) return { session_id: id, client_msg_id, seq: dup.seq, ts: dup.ts, duplicate: true };
  if (s.state === 'ended') fail(409, 'session_ended', 'The session has ended.');
  if (p.state !== 'joined') fail(409, 'invalid_state', 'accept the invitation before sending');
  if (!text || !text.trim()) fail(400, 'empty_message', 'A message text is empty.');
  const e = addEntry(s, 'message', u, { text, client_msg_id });
  publish(s, [e]);
  return { session_id: id, client_msg_id, seq: e.seq, ts: e.ts, duplicate: false };
}

async function route(req, u, path, q, body) {
  const m = (method, re) => req.method === method && path.match(re);
  let r;
  if (m('GET', /^\/me$/)) return meView(u);
  if (m('PUT', /^\/me\/status$/)) {
    u.status = body.status; u.reason = body.status === 'not_ready' ? body.reason ?? null : null;
    emit(u, { kind: 'status', status: u.status, reason: u.reason }); broadcastPresence(u); return meView(u);
  }
  if (m('PUT', /^\/me\/preferences$/)) {
    if (!(body.zoom >= 50 && body.zoom <= 200)) fail(400, 'invalid_request', 'zoom: 50–200');
    u.zoom = body.zoom; emit(u, { kind: 'preferences', zoom: u.zoom }); return meView(u);
  }
  if (m('GET', /^\/status-reasons$/)) return reasons;
  if (m('GET', /^\/directory$/)) {
    const text = (q.get('q') ?? '').toLowerCase(); const filter = q.get('filter') ?? 'all';
    let list = [...users.values()].filter((x) => x.id !== u.id);
    if (filter === 'groups') list = [];
    if (filter === 'favourites') list = list.filter((x) => u.favourites.has(x.id));
    if (filter === 'recent') list = u.recent.map((id) => users.get(id));
    list = list.filter((x) => !text || x.display_name.toLowerCase().includes(text) || x.username.includes(text));
    return {
      entries: list.slice(0, Number(q.get('limit') ?? 50)).map((x) => ({
        kind: 'user', id: x.id, display_name: x.display_name, username: x.username, groups: x.groups.map((g) => g.name),
        status: effective(x), reason: x.reason, member_count: null, favourite: u.favourites.has(x.id),
        actions: [...(u.im_permitted && x.im_permitted ? ['send_im'] : []), u.favourites.has(x.id) ? 'remove_favourite' : 'add_favourite'],
      })),
    };
  }
  if ((r = m('PUT', /^\/favourites\/([^/]+)$/))) { u.favourites.add(decodeURIComponent(r[1])); return null; }
  if ((r = m('DELETE', /^\/favourites\/([^/]+)$/))) { u.favourites.delete(decodeURIComponent(r[1])); return null; }
  if (m('GET', /^\/sessions$/)) return [...sessions.values()].filter((s) => s.participants.some((p) => p.user_id === u.id && p.state !== 'not_invited') && !s.done.has(u.id)).map((s) => sessionView(s, u));
  if (m('POST', /^\/sessions$/)) {
    if (!u.im_permitted) fail(403, 'im_not_permitted', 'No Internal IM permission.');
    const t = users.get(body.target_id);
    if (!t) fail(404, 'user_not_found', 'No account has this id.');
    const existing = body.client_id && [...sessions.values()].find((s) => s.client_id === body.client_id && s.created_by === u.id);
    if (existing) return sessionView(existing, u);
    const defer = body.defer_invite && !body.first_message;
    const s = {
      id: randomUUID(), client_id: body.client_id, state: defer ? 'not_connected' : 'inviting', created_by: u.id, created_at: Date.now(),
      ended_at: null, ended_by: null, entries: [], done: new Set(),
      participants: [
        { user_id: u.id, display_name: u.display_name, role: 'initiator', state: 'joined', invite_timed_out: false, color: 0, delivered_seq: 0, read_seq: 0 },
        { user_id: t.id, display_name: t.display_name, role: 'invitee', state: defer ? 'not_invited' : 'invited', invite_timed_out: false, color: 1, delivered_seq: 0, read_seq: 0 },
      ],
    };
    sessions.set(s.id, s);
    u.recent = [t.id, ...u.recent.filter((x) => x !== t.id)];
    const entries = [];
    if (!defer) {
      entries.push(addEntry(s, 'invited', u, { subject_id: t.id, subject_name: t.display_name }));
      if (body.first_message) entries.push(addEntry(s, 'message', u, { text: body.first_message.text, client_msg_id: body.first_message.client_msg_id }));
      setTimeout(() => {
        const p = s.participants[1];
        if (p.state === 'invited' && !p.invite_timed_out) {
          p.invite_timed_out = true;
          publish(s, [addEntry(s, 'timed_out', t, { subject_id: t.id, subject_name: t.display_name })]);
        }
      }, inviteTimeoutMs);
    }
    publish(s, entries);
    return [201, sessionView(s, u)];
  }
  if ((r = m('GET', /^\/sessions\/([^/]+)$/))) return sessionView(getSession(r[1], u)[0], u);
  if ((r = m('POST', /^\/sessions\/([^/]+)\/(accept|reject|end|cancel|done)$/))) {
    const [s, p] = getSession(r[1], u);
    const op = r[2];
    if (op !== 'done' && s.state === 'ended') fail(409, 'session_ended', 'The session has ended.');
    if (op === 'accept' || op === 'reject') {
      if (p.state !== 'invited') fail(409, 'invalid_state', 'There is no pending invitation.');
      if (op === 'accept') { p.state = 'joined'; s.state = 'connected'; publish(s, [addEntry(s, 'joined', u, { subject_id: u.id, subject_name: u.display_name })]); }
      else { p.state = 'rejected'; maybeEnd(s, u); publish(s, [addEntry(s, 'rejected', u, { subject_id: u.id, subject_name: u.display_name })]); }
      return sessionView(s, u);
    }
    if (op === 'end' || (op === 'done' && s.state !== 'ended')) {
      if (p.state === 'invited') { p.state = 'rejected'; maybeEnd(s, u); publish(s, [addEntry(s, 'rejected', u, { subject_id: u.id, subject_name: u.display_name })]); }
      else if (s.state !== 'ended') {
        s.state = 'ended'; s.ended_at = Date.now(); s.ended_by = u.id;
        for (const o of s.participants) if (o.state === 'invited' || o.state === 'not_invited') o.state = 'cancelled';
        publish(s, [addEntry(s, 'ended', u)]);
      }
      if (op === 'end') return sessionView(s, u);
    }
    if (op === 'done') { s.done.add(u.id); emit(u, { kind: 'session_removed', session_id: s.id }); return null; }
    return sessionView(s, u);
  }
  if ((r = m('POST', /^\/sessions\/([^/]+)\/messages$/))) return sendMessage(u, r[1], body.client_msg_id, body.text);
  if ((r = m('GET', /^\/sessions\/([^/]+)\/transcript$/))) {
    const [s] = getSession(r[1], u);
    const after = Number(q.get('after') ?? 0); const before = q.get('before') ? Number(q.get('before')) : Infinity;
    const limit = Number(q.get('limit') ?? 100);
    let list = s.entries.filter((e) => e.seq > after && e.seq < before);
    let has_more = false;
    if (q.get('before')) { has_more = list.length > limit; list = list.slice(-limit); } else { has_more = list.length > limit; list = list.slice(0, limit); }
    return { entries: list, has_more };
  }
  fail(404, 'not_found', 'No such route.');
}

function mark(u, id, kind, seq) {
  const [s, p] = getSession(id, u);
  if (kind === 'read') p.read_seq = Math.max(p.read_seq, seq);
  p.delivered_seq = Math.max(p.delivered_seq, seq);
  for (const o of s.participants) if (!s.done.has(o.user_id) && o.state !== 'not_invited') emit(users.get(o.user_id), { kind: 'mark', session_id: id, user_id: u.id, mark: kind, seq });
}

const userFromCookie = (req) => {
  const m = /(?:^|;\s*)backline_session=([^;]+)/.exec(req.headers.cookie ?? '');
  return m ? tokens.get(m[1]) : undefined;
};
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png' };

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (status, data, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(data === null || data === undefined ? undefined : JSON.stringify(data));
  };
  if (!url.pathname.startsWith('/api/')) {
    let file = join(webDir, url.pathname);
    if (!file.startsWith(webDir) || !existsSync(file) || statSync(file).isDirectory()) file = join(webDir, 'index.html');
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
    return;
  }
  let raw = '';
  for await (const chunk of req) raw += chunk;
  let body = {};
  try { body = raw ? JSON.parse(raw) : {}; } catch { return send(400, { code: 'malformed_request', message: 'bad json' }); }
  const path = url.pathname.replace(/^\/api\/v1/, '');
  try {
    if (req.method === 'POST' && path === '/auth/sign-in') {
      const u = [...users.values()].find((x) => x.username === body.username);
      if (!u || body.password !== 'backline') fail(401, 'invalid_credentials', 'Username or password is wrong.');
      const token = randomUUID();
      tokens.set(token, u);
      return send(200, { token, expires_at: Date.now() + 12 * 3600e3, me: meView(u) }, { 'Set-Cookie': `backline_session=${token}; HttpOnly; SameSite=Strict; Path=/` });
    }
    const u = userFromCookie(req);
    if (!u) fail(401, 'unauthenticated', 'No session token was presented.');
    if (req.method === 'POST' && path === '/auth/sign-out') {
      for (const [t, x] of tokens) if (x === u) tokens.delete(t);
      res.writeHead(204, { 'Set-Cookie': 'backline_session=; Max-Age=0; Path=/' });
      return res.end();
    }
    const out = await route(req, u, path, url.searchParams, body);
    if (Array.isArray(out) && out.length === 2 && out[0] === 201) return send(201, out[1]);
    if (out === null) { res.writeHead(204); return res.end(); }
    return send(200, out);
  } catch (e) {
    if (e instanceof HttpError) return send(e.status, { code: e.code, message: e.message });
    console.error(e);
    return send(500, { code: 'internal', message: String(e) });
  }
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (!req.url.startsWith('/api/v1/ws')) return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => {
    const conn = { user: userFromCookie(req), ready: false, watched: new Set(), send: (f) => ws.readyState === 1 && ws.send(JSON.stringify(f)) };
    ws.on('message', (data) => {
      let f;
      try { f = JSON.parse(String(data)); } catch { return conn.send({ type: 'error', rid: null, code: 'malformed_request', message: 'bad frame' }); }
      if (!conn.ready) {
        if (f.type !== 'hello' || !conn.user) return ws.close(4001, 'unauthenticated');
        const u = conn.user;
        conn.ready = true;
        conns.add(conn);
        conn.send({ type: 'welcome', me: meView(u), head: u.events.length, node: 'mock' });
        if (f.last_seq !== undefined) for (const ev of u.events.slice(f.last_seq)) conn.send({ type: 'event', ...ev });
        broadcastPresence(u);
        return;
      }
      const u = conn.user;
      try {
        if (f.type === 'send') conn.send({ type: 'ack', rid: f.rid, ack: sendMessage(u, f.session_id, f.client_msg_id, f.text) });
        else if (f.type === 'typing') {
          const s = sessions.get(f.session_id);
          for (const c of conns) if (c.user !== u && s?.participants.some((p) => p.user_id === c.user.id)) c.send({ type: 'typing', session_id: f.session_id, user_id: u.id, state: f.state });
        } else if (f.type === 'mark') { mark(u, f.session_id, f.kind, f.seq); if (f.rid) conn.send({ type: 'ok', rid: f.rid }); }
        else if (f.type === 'watch') {
          conn.watched = new Set(f.user_ids);
          for (const id of f.user_ids) { const x = users.get(id); if (x) conn.send({ type: 'presence', user_id: id, status: effective(x), reason: x.reason }); }
        } else if (f.type === 'ping') conn.send({ type: 'pong', rid: f.rid ?? null });
        else conn.send({ type: 'error', rid: f.rid ?? null, code: 'unknown_frame_type', message: f.type });
      } catch (e) {
        conn.send({ type: 'error', rid: f.rid ?? null, code: e.code ?? 'internal', message: e.message });
      }
    });
    ws.on('close', () => {
      conns.delete(conn);
      if (conn.user) broadcastPresence(conn.user);
    });
  });
});

server.listen(Number(port), host, () => console.log(`mock backline on http://${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));

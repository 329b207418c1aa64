#!/usr/bin/env node
// Plays the browser for one login at conformance/idp/provider.mjs (or any provider whose
// login page is a form with `login` and `password` fields):
//
//   node login.mjs <authorize-url> <redirect-prefix> <user> <password>
//
// Follows redirects by hand with a cookie jar, submits the login form, and stops at the
// first redirect whose Location starts with <redirect-prefix>, printing
// {"redirect":"<that URL>"}. Exits non-zero with a message on anything else (a wrong
// password, an error page, too many hops).

const [authorizeUrl, redirectPrefix, user, password] = process.argv.slice(2);
if (!authorizeUrl || !redirectPrefix || user === undefined || password === undefined) {
  process.stderr.write('usage: login.mjs <authorize-url> <redirect-prefix> <user> <password>\n');
  process.exit(2);
}

function fail(msg) {
  process.stderr.write(`login.mjs: ${msg}\n`);
  process.exit(1);
}
setTimeout(() => fail('timed out after 30 s'), 30_000).unref();

// ---- a minimal cookie jar: name=value per host, path and expiry ignored (one test origin)
const jar = new Map();
function storeCookies(url, response) {
  const host = new URL(url).host;
  const cookies = jar.get(host) ?? new Map();
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k, v = ''] = a.trim().split('=');
      return (k.toLowerCase() === 'max-age' && Number(v) <= 0)
        || (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now());
    });
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
  jar.set(host, cookies);
}
function cookieHeader(url) {
  const cookies = jar.get(new URL(url).host);
  if (!cookies || cookies.size === 0) return undefined;
  return [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
}

async function request(url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let response;
  try {
    response = await fetch(url, { ...init, headers, redirect: 'manual' });
  } catch (e) {
    fail(`${init.method ?? 'GET'} ${new URL(url).origin}${new URL(url).pathname}: ${e.cause?.message ?? e.message}`);
  }
  storeCookies(url, response);
  return response;
}

function formAction(html, base) {
  const form = /<form\b[^>]*>/i.exec(html);
  if (!form) return undefined;
  const action = /\baction\s*=\s*"([^"]*)"/i.exec(form[0]);
  const raw = (action ? action[1] : '').replace(/&amp;/g, '&').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
  return new URL(raw, base).href;
}

let url = authorizeUrl;
let init = {};
let submitted = false;
for (let hop = 0; hop < 20; hop += 1) {
  const response = await request(url, init);
  const { status } = response;
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    if (!location) fail(`redirect ${status} without Location from ${new URL(url).pathname}`);
    const next = new URL(location, url).href;
    await response.arrayBuffer();
    if (next.startsWith(redirectPrefix)) {
      process.stdout.write(`${JSON.stringify({ redirect: next })}\n`);
      process.exit(0);
    }
    url = next;
    init = {};
    continue;
  }
  const body = await response.text();
  if (status !== 200) {
    fail(`HTTP ${status} at ${new URL(url).pathname}: ${body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  }
  if (submitted) {
    const error = /class="error"[^>]*>([^<]*)</.exec(body);
    fail(`login refused at ${new URL(url).pathname}: ${error ? error[1] : 'the login page came back'}`);
  }
  const action = formAction(body, url);
  if (!action || !/name="login"/.test(body) || !/name="password"/.test(body)) {
    fail(`no login form at ${new URL(url).pathname}`);
  }
  url = action;
  init = {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: user, password }).toString(),
  };
  submitted = true;
}
fail('too many redirects');

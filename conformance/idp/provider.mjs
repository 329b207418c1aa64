#!/usr/bin/env node
// A real OpenID Provider for vdc's relying-party tests: oidc-provider (panva/node-oidc-provider)
// on 127.0.0.1, authorization code flow with PKCE S256, client_secret_basic, and a plain
// login form whose submission also grants every requested scope (no consent page).
//
//   node provider.mjs --config clients.json [--port N] [--fail-token]
//                     [--forge-id-token key|aud|nonce]
//
// --forge-id-token makes the token endpoint hand out a bad ID token, for relying-party
// tests: `key` re-signs it with a key that is not in the JWKS (same kid), `aud` and `nonce`
// change that claim and re-sign it with the real key.
//
// clients.json: {"clients":[{"client_id","client_secret","redirect_uris":[...]}],
//                "alg":"RS256"|"ES256"}
// Prints one line once listening: {"issuer":"http://127.0.0.1:PORT","port":PORT}

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function die(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

// ---- arguments
const args = process.argv.slice(2);
let configPath;
let port = 0;
let failToken = false;
let forge;
for (let i = 0; i < args.length; i += 1) {
  switch (args[i]) {
    case '--config':
      configPath = args[(i += 1)];
      break;
    case '--port':
      port = Number(args[(i += 1)]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) die('--port needs 0..65535');
      break;
    case '--fail-token':
      failToken = true;
      break;
    case '--forge-id-token':
      forge = args[(i += 1)];
      if (!['key', 'aud', 'nonce'].includes(forge)) die('--forge-id-token needs key, aud or nonce');
      break;
    default:
      die(`unknown argument ${JSON.stringify(args[i])}`);
  }
}
if (!configPath) die('usage: provider.mjs --config FILE [--port N] [--fail-token] [--forge-id-token key|aud|nonce]');

let config;
try {
  config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
} catch (e) {
  die(`cannot read config ${configPath}: ${e.message}`);
}
const alg = config.alg ?? 'RS256';
if (alg !== 'RS256' && alg !== 'ES256') die(`alg must be RS256 or ES256, not ${alg}`);
if (!Array.isArray(config.clients) || config.clients.length === 0) die('config needs clients');

// ---- signing key, generated per start in the configured algorithm
function signingJwk() {
  const { privateKey } = alg === 'RS256'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

const SIGNING_JWK = signingJwk();

// ---- --forge-id-token: the ID token of a token response, spoiled as asked
function forgedIdToken(idToken) {
  const [h, p] = idToken.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  let key = crypto.createPrivateKey({ key: SIGNING_JWK, format: 'jwk' });
  if (forge === 'aud') payload.aud = 'another-client';
  else if (forge === 'nonce') payload.nonce = 'not-the-nonce-of-this-login';
  else key = crypto.createPrivateKey({ key: signingJwk(), format: 'jwk' });
  const input = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = crypto.sign(
    'sha256',
    Buffer.from(input),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  );
  return `${input}.${signature.toString('base64url')}`;
}

// Rewrites the JSON body a token response ends with (Koa sends it with one `end`, headers
// not yet sent).
function forgeTokenResponse(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk !== undefined && !res.headersSent) {
      try {
        const body = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
        if (typeof body.id_token === 'string') {
          body.id_token = forgedIdToken(body.id_token);
          const out = JSON.stringify(body);
          res.setHeader('Content-Length', Buffer.byteLength(out));
          return end(out);
        }
      } catch {
        // not a JSON body: sent as it is
      }
    }
    return end(chunk, ...rest);
  };
}

// ---- accounts
const USERS = {
  ada: {
    password: 'lovelace-test',
    sub: 'emp-1001',
    given_name: 'Ada',
    family_name: 'Lovelace',
    email: 'ada@example.com',
    employee_number: '1001',
  },
  bob: {
    password: 'bob-test',
    sub: 'emp-1002',
    given_name: 'Bob',
    family_name: 'Builder',
    email: 'bob@example.com',
    employee_number: '1002',
  },
};
const BY_SUB = Object.fromEntries(Object.values(USERS).map((u) => [u.sub, u]));

async function findAccount(_ctx, sub) {
  const user = BY_SUB[sub];
  if (!user) return undefined;
  return {
    accountId: sub,
    // `use` is "id_token" or "userinfo"; the provider then keeps only the claims the granted
    // scopes map to (see `claims` below). employee_number is given to userinfo only, so a
    // relying party needing it must call the userinfo endpoint.
    async claims(use) {
      const out = {
        sub,
        given_name: user.given_name,
        family_name: user.family_name,
        name: `${user.given_name} ${user.family_name}`,
        email: user.email,
        email_verified: true,
      };
      if (use === 'userinfo') out.employee_number = user.employee_number;
      return out;
    },
  };
}

// ---- HTML
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function loginPage(uid, error) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label>Login <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
</body></html>
`;
}

function send(res, status, type, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

function readForm(req, limit = 16 * 1024) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('form too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

// ---- server: listen first (a free port), then build the provider for that issuer
const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: alg,
    })),
    jwks: { keys: [SIGNING_JWK] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    findAccount,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name', 'name'],
      employee: ['employee_number'],
    },
    // Scope-requested claims go into the ID token as well (OIDC Core §5.4 leaves it to the
    // provider for response_type=code); employee_number is withheld in findAccount.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      claimsParameter: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    enabledJWA: { idTokenSigningAlgValues: [alg] },
    clientAuthMethods: ['client_secret_basic'],
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html><body><h1>Error</h1>${
        Object.entries(out).map(([k, v]) => `<p>${esc(k)}: ${esc(v)}</p>`).join('')
      }</body></html>`;
    },
  });
  const callback = provider.callback();

  async function interaction(req, res, uid, action) {
    if (req.method === 'GET' && !action) {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch\n');
      return send(res, 200, 'text/html; charset=utf-8', loginPage(uid));
    }
    if (req.method === 'POST' && action === 'login') {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch\n');
      const form = await readForm(req);
      const user = USERS[form.get('login') ?? ''];
      const password = Buffer.from(form.get('password') ?? '');
      const ok = user
        && password.length === Buffer.byteLength(user.password)
        && crypto.timingSafeEqual(password, Buffer.from(user.password));
      if (!ok) {
        return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, 'Invalid login or password.'));
      }
      // Finish the login and grant consent for everything requested in one step.
      const { params } = details;
      const grant = new provider.Grant({ accountId: user.sub, clientId: params.client_id });
      if (params.scope) grant.addOIDCScope(params.scope);
      if (params.claims) {
        const claims = JSON.parse(params.claims);
        for (const container of ['id_token', 'userinfo']) {
          if (claims[container]) grant.addOIDCClaims(Object.keys(claims[container]));
        }
      }
      const grantId = await grant.save();
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub }, consent: { grantId } },
        { mergeWithLastSubmission: false },
      );
    }
    return send(res, 405, 'text/plain', 'method not allowed\n');
  }

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (failToken && url.pathname === '/token') {
      return send(res, 500, 'application/json', '{"error":"server_error"}');
    }
    if (forge && url.pathname === '/token') forgeTokenResponse(res);
    const m = /^\/interaction\/([^/]+)(?:\/([a-z]+))?$/.exec(url.pathname);
    if (m) {
      return interaction(req, res, m[1], m[2]).catch((e) => {
        process.stderr.write(`provider.mjs: interaction: ${e.stack ?? e}\n`);
        if (!res.headersSent) send(res, 400, 'text/plain', `interaction failed: ${e.message}\n`);
      });
    }
    return callback(req, res);
  });

  provider.on('server_error', (_ctx, e) => process.stderr.write(`provider.mjs: server_error: ${e.stack ?? e}\n`));
  process.stdout.write(`${JSON.stringify({ issuer, port: actualPort })}\n`);
});
server.on('error', (e) => die(`listen: ${e.message}`));

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));

#!/usr/bin/env node
// Writes concrete HAIP artifacts exactly as the pinned @openid4vc/* 0.4.6 libraries make them,
// so vdc's Rust parsers can be checked against the libraries' shapes (no server needed):
//
//   wallet-provider-ca.pem / -leaf.pem (+ .key.pem, .jwk.json)   PKI of the wallet provider
//   key-attestation-ca.pem / -leaf.pem (+ .key.pem, .jwk.json)   PKI of the key attester
//   wallet-instance.jwk.json        the wallet instance key (client attestation cnf.jwk)
//   holder-1.jwk.json, holder-2.jwk.json   attested holder keys (private JWKs)
//   client-attestation.jwt          Openid4vciWalletProvider.createWalletAttestationJwt, x5c=[leaf]
//   client-attestation-pop.jwt      clientAuthenticationClientAttestationJwt, aud = the AS issuer
//   client-attestation-pop.challenge.jwt   the same with an ABCA `challenge` claim added in the
//                                   signJwt callback (the library cannot set one)
//   token-request.http              the pre-authorized Token Request the library sends with
//                                   client attestation + DPoP (captured from its fetch)
//   key-attestation.attestation.jwt createKeyAttestationJwt use=proof_type.attestation (nonce)
//   key-attestation.jwt-proof.jwt   createKeyAttestationJwt use=proof_type.jwt (exp, nonce)
//   key-attestation.spec-typ.jwt    the same with typ rewritten to OID4VCI 1.0's key-attestation+jwt
//   jwt-proof-with-key-attestation.jwt   Openid4vciClient.createCredentialRequestJwtProof with
//                                   keyAttestationJwt (header key_attestation)
//   credential-request.attestation.http  the Credential Request (proofs.attestation) the library sends
//   credential-request.jwt-key-attestation.http  the same with proofs.jwt
//   issuer-request-enc.jwk.json     an issuer credential_request_encryption key (private, kid)
//   credential-request.jwe          jose CompactEncrypt (ECDH-ES, A256GCM, kid) of a request to it
//   decoded.json                    every JWT above decoded (header, payload)
//
// Usage: node conformance/haip/samples.mjs [out-dir]   (default /tmp/haip-samples)
// Needs `openssl` on PATH for the certificates.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { clientAuthenticationClientAttestationJwt, Oauth2Client, setGlobalConfig } from "@openid4vc/oauth2";
import { Openid4vciClient, Openid4vciWalletProvider, createKeyAttestationJwt } from "@openid4vc/openid4vci";
import { CompactEncrypt } from "jose";

import { b64u, decodeJws, es256Key, makeCa, makeCallbacks, makeLeaf } from "./lib.mjs";

const out = process.argv[2] ?? "/tmp/haip-samples";
mkdirSync(out, { recursive: true });
setGlobalConfig({ allowInsecureUrls: true });

const AS_ISSUER = "http://127.0.0.1:8080/issuers/acme";
const CREDENTIAL_ISSUER = AS_ISSUER;
const CLIENT_ID = "https://wallet.example/haip-conformance";
const NONCE = "sample-c-nonce-0123456789";
const decoded = {};
const put = (name, text) => writeFileSync(join(out, name), text.endsWith("\n") ? text : `${text}\n`);
const putJwt = (name, jwt) => {
  put(name, jwt);
  decoded[name] = decodeJws(jwt);
};
const privJwk = (k) => JSON.stringify(k.privateKey.export({ format: "jwk" }), null, 2);
const putPki = (prefix, k) => {
  put(`${prefix}.pem`, k.pem);
  put(`${prefix}.key.pem`, k.privateKey.export({ format: "pem", type: "pkcs8" }));
  put(`${prefix}.jwk.json`, privJwk(k));
};

// ---- PKI: self-signed CAs, leaves issued by them (x5c = [leaf], anchor excluded: HAIP 1.0 §4.4.1, §4.5.1)
const wpCa = makeCa("Wallet Provider CA (sample)");
const wpLeaf = makeLeaf(wpCa, "Wallet Provider attestation signer (sample)");
const kaCa = makeCa("Key Attestation CA (sample)");
const kaLeaf = makeLeaf(kaCa, "Key attestation signer (sample)");
putPki("wallet-provider-ca", wpCa);
putPki("wallet-provider-leaf", wpLeaf);
putPki("key-attestation-ca", kaCa);
putPki("key-attestation-leaf", kaLeaf);

const instance = es256Key();
const holder1 = es256Key();
const holder2 = es256Key();
put("wallet-instance.jwk.json", privJwk(instance));
put("holder-1.jwk.json", privJwk(holder1));
put("holder-2.jwk.json", privJwk(holder2));

let challenge;
const callbacks = makeCallbacks({
  keys: [wpLeaf, kaLeaf, instance, holder1, holder2],
  rewrite: (header, payload) => {
    if (challenge && header.typ === "oauth-client-attestation-pop+jwt") payload.challenge = challenge;
    return { header, payload };
  },
});

// ---- client attestation (OID4VCI 1.0 Appendix E; ABCA §5.1)
const now = new Date();
const walletProvider = new Openid4vciWalletProvider({ callbacks });
const clientAttestation = await walletProvider.createWalletAttestationJwt({
  signer: { method: "x5c", alg: "ES256", x5c: wpLeaf.x5c },
  issuer: "https://wallet-provider.example",
  clientId: CLIENT_ID,
  issuedAt: now,
  expiresAt: new Date(now.getTime() + 24 * 3600 * 1000),
  confirmation: { jwk: instance.publicJwk },
  walletName: "vdc HAIP conformance wallet",
  walletLink: "https://wallet.example/about",
});
putJwt("client-attestation.jwt", clientAttestation);

// ---- client attestation PoP (ABCA §5.2), as the client authentication callback makes it
const headers = new Headers();
const asMetadata = { issuer: AS_ISSUER, token_endpoint: `${AS_ISSUER}/token` };
const auth = clientAuthenticationClientAttestationJwt({ clientAttestationJwt: clientAttestation, callbacks });
await auth({ url: asMetadata.token_endpoint, method: "POST", authorizationServerMetadata: asMetadata, body: {}, contentType: "application/x-www-form-urlencoded", headers });
putJwt("client-attestation-pop.jwt", headers.get("OAuth-Client-Attestation-PoP"));
challenge = "sample-attestation-challenge";
const headers2 = new Headers();
await auth({ url: asMetadata.token_endpoint, method: "POST", authorizationServerMetadata: asMetadata, body: {}, contentType: "application/x-www-form-urlencoded", headers: headers2 });
putJwt("client-attestation-pop.challenge.jwt", headers2.get("OAuth-Client-Attestation-PoP"));
challenge = undefined;

// ---- a capturing fetch: the exact requests the clients send
const captured = [];
const capture = async (url, init = {}) => {
  const h = new Headers(init.headers);
  captured.push({ method: init.method ?? "GET", url: String(url), headers: Object.fromEntries(h), body: init.body });
  if (String(url).endsWith("/token")) {
    return new Response(JSON.stringify({ access_token: "sample-at", token_type: "DPoP", expires_in: 300 }), { status: 200, headers: { "content-type": "application/json" } });
  }
  return new Response(JSON.stringify({ credentials: [{ credential: "sample~" }] }), { status: 200, headers: { "content-type": "application/json" } });
};
const httpText = (r) =>
  [`${r.method} ${r.url}`, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`), "", typeof r.body === "string" ? r.body : ""].join("\n");

const dpopKey = es256Key();
const oauth2 = new Oauth2Client({
  callbacks: { ...callbacks, keys: undefined, fetch: capture, signJwt: makeCallbacks({ keys: [dpopKey, instance] }).signJwt, clientAuthentication: auth },
});
await oauth2.retrievePreAuthorizedCodeAccessToken({
  authorizationServerMetadata: asMetadata,
  preAuthorizedCode: "sample-pre-authorized-code",
  dpop: { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } },
});
put("token-request.http", httpText(captured.at(-1)));
for (const [k, v] of Object.entries(captured.at(-1).headers)) if (k === "dpop") decoded["token-request.http DPoP"] = decodeJws(v);

// ---- key attestations (OID4VCI 1.0 Appendix D.1)
const keyAttestationAttestation = await createKeyAttestationJwt({
  callbacks,
  signer: { method: "x5c", alg: "ES256", x5c: kaLeaf.x5c },
  use: "proof_type.attestation",
  issuedAt: now,
  expiresAt: new Date(now.getTime() + 3600 * 1000),
  nonce: NONCE,
  attestedKeys: [holder1.publicJwk, holder2.publicJwk],
  keyStorage: ["iso_18045_moderate"],
  userAuthentication: ["iso_18045_moderate"],
});
putJwt("key-attestation.attestation.jwt", keyAttestationAttestation);
const keyAttestationForJwt = await createKeyAttestationJwt({
  callbacks,
  signer: { method: "x5c", alg: "ES256", x5c: kaLeaf.x5c },
  use: "proof_type.jwt",
  issuedAt: now,
  expiresAt: new Date(now.getTime() + 3600 * 1000),
  nonce: NONCE,
  attestedKeys: [holder1.publicJwk],
  keyStorage: ["iso_18045_moderate"],
});
putJwt("key-attestation.jwt-proof.jwt", keyAttestationForJwt);
const specTyp = await createKeyAttestationJwt({
  callbacks: {
    ...callbacks,
    signJwt: makeCallbacks({ keys: [kaLeaf], rewrite: (h, p) => ({ header: { ...h, typ: "key-attestation+jwt" }, payload: p }) }).signJwt,
  },
  signer: { method: "x5c", alg: "ES256", x5c: kaLeaf.x5c },
  use: "proof_type.attestation",
  issuedAt: now,
  expiresAt: new Date(now.getTime() + 3600 * 1000),
  nonce: NONCE,
  attestedKeys: [holder1.publicJwk],
  keyStorage: ["iso_18045_moderate"],
});
putJwt("key-attestation.spec-typ.jwt", specTyp);

// ---- jwt proof with key_attestation (OID4VCI 1.0 Appendix F.1)
const issuerMetadata = {
  originalDraftVersion: "V1",
  credentialIssuer: {
    credential_issuer: CREDENTIAL_ISSUER,
    credential_endpoint: `${CREDENTIAL_ISSUER}/credential`,
    nonce_endpoint: `${CREDENTIAL_ISSUER}/nonce`,
    batch_credential_issuance: { batch_size: 2 },
    credential_configurations_supported: {
      EmployeeBadge: {
        format: "dc+sd-jwt",
        vct: "https://acme.example/vct/employee-badge",
        scope: "employee_badge",
        cryptographic_binding_methods_supported: ["jwk"],
        proof_types_supported: {
          jwt: { proof_signing_alg_values_supported: ["ES256"], key_attestations_required: {} },
          attestation: { proof_signing_alg_values_supported: ["ES256"], key_attestations_required: {} },
        },
        credential_metadata: {},
      },
    },
  },
  authorizationServers: [asMetadata],
  knownCredentialConfigurations: {},
};
const vci = new Openid4vciClient({ callbacks: { ...callbacks, fetch: capture } });
const { jwt: proofJwt } = await vci.createCredentialRequestJwtProof({
  issuerMetadata,
  credentialConfigurationId: "EmployeeBadge",
  signer: { method: "jwk", alg: "ES256", publicJwk: holder1.publicJwk },
  nonce: NONCE,
  issuedAt: now,
  keyAttestationJwt: keyAttestationForJwt,
});
putJwt("jwt-proof-with-key-attestation.jwt", proofJwt);

// ---- the credential requests the library sends (captured)
const dpopOpt = { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } };
const vciDpop = new Openid4vciClient({ callbacks: { ...callbacks, fetch: capture, signJwt: makeCallbacks({ keys: [dpopKey] }).signJwt } });
await vciDpop.retrieveCredentials({
  issuerMetadata,
  credentialConfigurationId: "EmployeeBadge",
  proofs: { attestation: [keyAttestationAttestation] },
  accessToken: "sample-at",
  dpop: dpopOpt,
});
put("credential-request.attestation.http", httpText(captured.at(-1)));
await vciDpop.retrieveCredentials({
  issuerMetadata,
  credentialConfigurationId: "EmployeeBadge",
  proofs: { jwt: [proofJwt] },
  accessToken: "sample-at",
  dpop: dpopOpt,
});
put("credential-request.jwt-key-attestation.http", httpText(captured.at(-1)));

// ---- an encrypted credential request (OID4VCI 1.0 §10) made with jose
const encKey = es256Key();
const encPub = { ...encKey.publicJwk, kid: "req-enc-1", use: "enc", alg: "ECDH-ES" };
put("issuer-request-enc.jwk.json", JSON.stringify({ ...encKey.privateKey.export({ format: "jwk" }), kid: "req-enc-1", use: "enc", alg: "ECDH-ES" }, null, 2));
const responseKey = es256Key();
put("wallet-response-enc.jwk.json", JSON.stringify({ ...responseKey.privateKey.export({ format: "jwk" }), kid: "resp-enc-1", use: "enc", alg: "ECDH-ES" }, null, 2));
const plainRequest = {
  credential_configuration_id: "EmployeeBadge",
  proofs: { attestation: [keyAttestationAttestation] },
  credential_response_encryption: { jwk: { ...responseKey.publicJwk, kid: "resp-enc-1", use: "enc", alg: "ECDH-ES" }, enc: "A256GCM" },
};
put("credential-request.plain.json", JSON.stringify(plainRequest, null, 2));
const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(plainRequest)))
  .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: encPub.kid })
  .encrypt(encKey.publicKey);
put("credential-request.jwe", jwe);
decoded["credential-request.jwe"] = { header: JSON.parse(Buffer.from(jwe.split(".")[0], "base64url").toString("utf8")) };

decoded["x5c"] = { wallet_provider_leaf_b64: wpLeaf.x5c[0].slice(0, 40) + "...", key_attestation_leaf_b64: kaLeaf.x5c[0].slice(0, 40) + "..." };
put("decoded.json", JSON.stringify(decoded, null, 2));
process.stderr.write(`wrote HAIP samples to ${out} (${Object.keys(decoded).length} decoded entries)\n`);
void b64u;

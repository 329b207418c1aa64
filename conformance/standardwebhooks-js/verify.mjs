// Standard Webhooks interop: verifies deliveries vdc sent with the reference JavaScript
// library (npm `standardwebhooks`, pinned in package.json), independently of vdc's code.
//
// stdin:  {"secret": "whsec_...", "messages": [{"headers": {"webhook-id": ..,
//          "webhook-timestamp": .., "webhook-signature": ..}, "body": "<raw body>"}]}
// stdout: {"results": [{"ok": true, "payload": {...}} | {"ok": false, "error": "..."}]}
//
// The library checks the signature over "{id}.{timestamp}.{body}" with the decoded secret
// and that the timestamp is within five minutes of now.
import { Webhook } from "standardwebhooks";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { secret, messages } = JSON.parse(input);
// The library takes the base64 part; it strips a `whsec_` prefix itself.
const wh = new Webhook(secret);
const results = messages.map(({ headers, body }) => {
  try {
    return { ok: true, payload: wh.verify(body, headers) };
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify({ results }) + "\n");

// @vdc/management: the typed client of the vdc management API.
export * from "./client.js";
export * from "./errors.js";
export * from "./webhooks.js";

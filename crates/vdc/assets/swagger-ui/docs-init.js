// Starts Swagger UI on the management API's OpenAPI document. A separate file (not an inline
// script) so that the page's Content-Security-Policy can be `script-src 'self'`.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No call to the public validator service: the docs work air-gapped.
    validatorUrl: null,
  });
});

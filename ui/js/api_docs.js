/**
 * The API documentation page: Swagger UI (npm swagger-ui-dist, served under /vendor/) on the gateway's own
 * OpenAPI document. No validator badge (it would call validator.swagger.io): nothing leaves the gateway.
 * `#swagger-ui[data-state=ready]` once the document is rendered.
 */
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    onComplete: () => {
      root.setAttribute("aria-busy", "false");
      root.dataset.state = "ready";
    },
  });
});

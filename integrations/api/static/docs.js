// Renders /api/v1/openapi.json with the Swagger UI files the swagger-ui-bundle package ships
// (nothing is fetched from the internet). That Swagger UI (4.15) renders documents labelled 3.0
// only, so the page shows the 3.1 document relabelled, and lists the outbound events (the
// document's `webhooks`, which 3.0 has no place for) in the description. The document itself,
// as clients and schemathesis read it, is unchanged 3.1.
window.onload = async function () {
  const response = await fetch("/api/v1/openapi.json");
  const spec = await response.json();
  const events = Object.entries(spec.webhooks || {}).map(([name, item]) => {
    const ref = item.post.requestBody.content["application/json"].schema["$ref"] || "";
    return "- `" + name + "`: schema `" + ref.split("/").pop() + "` (see Schemas)";
  });
  const shown = Object.assign({}, spec, { openapi: "3.0.3" });
  delete shown.webhooks;
  shown.info = Object.assign({}, spec.info, {
    description: spec.info.description + "\n\n**Outbound events** (OpenAPI 3.1 `webhooks`):\n\n" + events.join("\n"),
  });
  window.ui = SwaggerUIBundle({
    spec: shown,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
};

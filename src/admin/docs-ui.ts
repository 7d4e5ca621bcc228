// Swagger UI at /docs with no internet: the swagger-ui-dist files are embedded in the binary by
// Bun file imports and served from /docs/assets/, and the page is ours rather than
// @elysiajs/swagger's, which loads the UI from a CDN.
import favicon from "swagger-ui-dist/favicon-32x32.png" with { type: "file" };
import bundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import css from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { NotFoundError } from "../errors.ts";

const ASSETS: Record<string, { path: string; type: string }> = {
  "swagger-ui.css": { path: css, type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": { path: bundle, type: "text/javascript; charset=utf-8" },
  "favicon-32x32.png": { path: favicon, type: "image/png" },
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>gateway admin API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true, docExpansion: "none" });
  </script>
</body>
</html>
`;

export function docsPage(): Response {
  return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
}

export function docsAsset(name: string): Response {
  const asset = ASSETS[name];
  if (!asset) throw new NotFoundError(`no documentation asset '${name}'`);
  return new Response(Bun.file(asset.path), { headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" } });
}

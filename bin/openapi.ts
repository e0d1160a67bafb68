/**
 * Writes docs/openapi.json from the route table and every handler's zod schemas:
 *
 *   npm run openapi
 *
 * The deployed GET /v1/openapi.json serves that file as it is (functions/api/openapi.ts bundles it);
 * test/unit/api/openapi.test.ts fails when the committed file differs from what this generates.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as prettier from "prettier";
import type { AnyRouteSpec } from "../functions/api/http/middleware.js";
import { routeEntry, routes } from "../functions/api/routes.js";
import { type OpenApiDocument, buildOpenApiDocument } from "./openapi-document.js";

export const OPENAPI_PATH = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));
const ROOT = new URL("../", import.meta.url);

/**
 * Every route's `spec`, from its handler file (routes.ts `routeEntry`): the table names the file,
 * the file holds the schemas. Fails when a handler has no spec for its route.
 */
export async function loadRouteSpecs(): Promise<AnyRouteSpec[]> {
  return Promise.all(
    routes.map(async (route) => {
      const module = (await import(pathToFileURL(fileURLToPath(new URL(routeEntry(route), ROOT))).href)) as {
        spec?: AnyRouteSpec;
      };
      if (module.spec?.routeId !== route.id) {
        throw new Error(`${routeEntry(route)} exports no spec for the route ${route.id}`);
      }
      return module.spec;
    }),
  );
}

/** The document the code describes today (what docs/openapi.json must equal). */
export async function generateOpenApiDocument(): Promise<OpenApiDocument> {
  return buildOpenApiDocument(await loadRouteSpecs());
}

/** The document as committed: JSON formatted by the project's Prettier settings. */
export async function renderOpenApi(): Promise<string> {
  const options = (await prettier.resolveConfig(OPENAPI_PATH)) ?? {};
  const document = await generateOpenApiDocument();
  return prettier.format(JSON.stringify(document), { ...options, filepath: OPENAPI_PATH });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(OPENAPI_PATH, await renderOpenApi(), "utf8");
  console.log(`wrote ${OPENAPI_PATH}`);
}

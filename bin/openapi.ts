/**
 * Writes docs/openapi.json from the route table and the handlers' zod schemas:
 *
 *   npx tsx bin/openapi.ts
 *
 * test/unit/api/openapi.test.ts fails when the committed file differs from what this generates.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as prettier from "prettier";
import { buildOpenApiDocument } from "../functions/api/openapi.js";

export const OPENAPI_PATH = fileURLToPath(new URL("../docs/openapi.json", import.meta.url));

/** The document as committed: JSON formatted by the project's Prettier settings. */
export async function renderOpenApi(): Promise<string> {
  const options = (await prettier.resolveConfig(OPENAPI_PATH)) ?? {};
  return prettier.format(JSON.stringify(buildOpenApiDocument()), { ...options, filepath: OPENAPI_PATH });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(OPENAPI_PATH, await renderOpenApi(), "utf8");
  console.log(`wrote ${OPENAPI_PATH}`);
}

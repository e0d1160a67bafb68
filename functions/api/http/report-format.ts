import type { ApiResult } from "./middleware.js";

/** How the report routes answer in their formats: here, apart from any one report's schema. */

/** The page's Content-Security-Policy: nothing may load or run; the inline stylesheet may apply. */
export const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * A report as JSON, as a CSV attachment or as one self-contained printable page (which may load
 * and run nothing), named `name` in the download.
 */
export function reportInFormat<T>(
  format: "json" | "csv" | "html",
  name: string,
  report: T,
  render: { readonly csv: (report: T) => string; readonly html: (report: T) => string },
): ApiResult {
  switch (format) {
    case "json":
      return { status: 200, body: report };
    case "csv":
      return {
        status: 200,
        text: render.csv(report),
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${name}.csv"`,
        },
      };
    case "html":
      return {
        status: 200,
        text: render.html(report),
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-disposition": `inline; filename="${name}.html"`,
          "content-security-policy": HTML_CSP,
          "x-content-type-options": "nosniff",
        },
      };
  }
}

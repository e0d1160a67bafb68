import * as z from "zod/mini";
import { parseTenantIdList } from "./table.js";

/** A daily job's environment variable of the deployment's tenant ids, as a list; refused when empty or malformed. */
export const tenantIdListVariable = z.pipe(
  z.string(),
  z.transform((value, ctx) => {
    const ids = parseTenantIdList(value);
    if (ids === undefined)
      ctx.issues.push({ code: "custom", message: "comma-separated tenant ids", input: value });
    return ids ?? [];
  }),
);

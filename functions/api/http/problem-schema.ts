import * as z from "zod/mini";
import { about } from "../../domain/about.js";
import { PROBLEM_CODE_PATTERN } from "./problem.js";
import { PROBLEM_BASE } from "./problem-type.js";

/**
 * The schema of a problem document (http/problem.ts makes them), for the OpenAPI document and the
 * tests: apart from problem.ts, so the handlers do not bundle its descriptions and examples.
 */
export const problemSchema = z
  .object({
    type: z
      .url()
      .check(z.meta(about("The problem's type: a URL ending in `code`", `${PROBLEM_BASE}STAGE_MOVED`))),
    title: z
      .string()
      .check(
        z.meta(about("A short, fixed summary of the type", "The challenge has moved on from that stage")),
      ),
    status: z.number().check(z.int(), z.meta(about("The HTTP status", 409))),
    detail: z
      .string()
      .check(
        z.meta(
          about(
            "What went wrong with this request, in plain words",
            "Stage 1 is no longer open: the challenge is at Stage 2.",
          ),
        ),
      ),
    instance: z
      .optional(z.string())
      .check(z.meta(about("The request's path", "/v1/challenges/01JV4K8Z3M6N2P9Q5R7S1T3W4X/escalations"))),
    code: z.string().check(
      z.regex(PROBLEM_CODE_PATTERN),
      z.meta({
        description:
          "Stable machine code in UPPER_SNAKE, the last segment of `type`: one of the API's own (VALIDATION_ERROR, FORBIDDEN, ...) or the domain's (STAGE_MOVED, UNKNOWN_THEME, ...)",
        examples: ["VALIDATION_ERROR", "STAGE_MOVED"],
      }),
    ),
    errors: z
      .optional(
        z.array(
          z.object({
            pointer: z
              .optional(z.string())
              .check(z.meta(about("The body field at fault, as a JSON Pointer", "/form/child/dateOfBirth"))),
            parameter: z
              .optional(z.string())
              .check(z.meta(about("The path or query parameter at fault", "limit"))),
            header: z.optional(z.string()).check(z.meta(about("The header at fault", "if-match"))),
            detail: z.string().check(z.meta(about("What is wrong with it", "must be a date (YYYY-MM-DD)"))),
          }),
        ),
      )
      .check(z.meta({ description: "Each field, parameter or header at fault (validation errors)" })),
    retryable: z
      .optional(z.boolean())
      .check(z.meta(about("true when the same request may succeed later (503)", true))),
    correlationId: z
      .optional(z.string())
      .check(
        z.meta(about("The request's correlation id, as logged", "fda0f0ce-6aec-4adb-9fa5-55e849bdf1ef")),
      ),
  })
  .check(z.meta({ id: "Problem", description: "RFC 9457 problem details" }));

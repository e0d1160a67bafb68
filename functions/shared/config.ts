import * as z from "zod/mini";

/**
 * The environment a handler runs with, read and validated once per process (on first use, so
 * modules can be imported by tests and tools without a Lambda environment).
 *
 * Endpoints are NOT configuration here: the local runtime sets the AWS SDK's own
 * `AWS_ENDPOINT_URL_<SERVICE>` variables and the SDK reads them itself.
 */
export const configSchema = z.object({
  /** The single DynamoDB table: challenges, events, tenant configuration, idempotency records. */
  TABLE_NAME: z.string().check(z.minLength(1)),
  /** The per-challenge workflow; the API starts one execution per raised challenge. */
  STATE_MACHINE_ARN: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:states:/, "a Step Functions state machine ARN")),
  /** How long an Idempotency-Key is remembered. 24 hours by default (the IETF draft's suggestion). */
  IDEMPOTENCY_TTL_SECONDS: z._default(
    z.coerce.number().check(z.int(), z.gte(60), z.lte(7 * 24 * 3600)),
    24 * 3600,
  ),
});
export type Config = z.infer<typeof configSchema>;

export class ConfigurationError extends Error {
  override readonly name = "ConfigurationError";
}

/** Parses an environment; throws a {@link ConfigurationError} naming every missing or bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return env[name] === undefined ? `${name} is not set` : `${name} is invalid (${issue.message})`;
    });
    throw new ConfigurationError(
      `Configuration error: ${problems.join("; ")}. The CDK stack and the local runtime set these variables.`,
    );
  }
  return result.data;
}

let cached: Config | undefined;

/** The process's configuration, validated on first call and then cached. */
export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** Tests only: forget the cached configuration so the next call reads the environment again. */
export function resetConfigForTests(): void {
  cached = undefined;
}

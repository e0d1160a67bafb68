import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import { $ZodError } from "zod/v4/core";
import { logger } from "../shared/observability.js";
import { MailConfigurationError } from "./mail-config.js";
import { type ReplyKeyRing, parseReplyKeyRing } from "./reply-token.js";

// Reply keys (Secrets Manager, cached per container)

/** The key ring, from wherever it is kept. `refresh` skips the cache (a token with a key we have not seen). */
export interface ReplyKeySource {
  current(): Promise<ReplyKeyRing>;
  refresh(): Promise<ReplyKeyRing>;
}

const keyShape = z.object({
  id: z.number(),
  secret: z.optional(z.string()),
  /** Accepted for `secret`. */
  key: z.optional(z.string()),
});

function normaliseKey(input: unknown): unknown {
  const parsed = keyShape.safeParse(input);
  if (!parsed.success) return input;
  return { id: parsed.data.id, secret: parsed.data.secret ?? parsed.data.key };
}

/** The `previous` key of either shape, when there is one. */
function previousKeyOf(json: object): { previous?: unknown } {
  return "previous" in json && json.previous !== null && json.previous !== undefined
    ? { previous: normaliseKey(json.previous) }
    : {};
}

/**
 * The secret's JSON, in either shape:
 * - `{ "current": { "id": 1, "secret": "<base64>" }, "previous": { "id": 0, "secret": "..." } }`
 *   (a rotation keeps the old key as `previous` until the reply addresses it signed have expired);
 * - `{ "id": 1, "secret": "<base64>", "previous": { "id": 0, "secret": "..." } }`: the flat shape,
 *   as CDK generates it (`secretStringTemplate` `{"id":0}`, `generateStringKey: "secret"`), the
 *   top-level key being the current one and `previous` optional, as above.
 * In both, the previous key needs an id of its own. `key` is accepted for `secret`. The key material
 * never appears in an error.
 */
export function parseReplyKeySecret(secretString: string): ReplyKeyRing {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new MailConfigurationError("the reply-token secret is not JSON");
  }
  const ring =
    typeof json !== "object" || json === null
      ? { current: json }
      : "current" in json
        ? { current: normaliseKey(json.current), ...previousKeyOf(json) }
        : { current: normaliseKey(json), ...previousKeyOf(json) };
  try {
    return parseReplyKeyRing(ring);
  } catch (error) {
    const paths =
      error instanceof $ZodError
        ? error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
        : "unreadable";
    throw new MailConfigurationError(`the reply-token secret is not a valid key ring (${paths})`);
  }
}

/**
 * The key ring from Secrets Manager, cached in the container for `ttlMs` (5 minutes) so a rotation
 * is picked up within minutes without a call per email. When Secrets Manager cannot be reached,
 * the last ring read keeps being used (for up to an hour) rather than stopping the mail.
 */
export class SecretsManagerReplyKeys implements ReplyKeySource {
  private cached: { ring: ReplyKeyRing; at: number } | undefined;
  private loading: Promise<ReplyKeyRing> | undefined;

  constructor(
    private readonly client: Pick<SecretsManagerClient, "send">,
    private readonly secretId: string,
    private readonly options: {
      ttlMs?: number;
      staleForMs?: number;
      minRefreshMs?: number;
      now?: () => number;
    } = {},
  ) {}

  async current(): Promise<ReplyKeyRing> {
    const at = this.now();
    if (this.cached !== undefined && at - this.cached.at < (this.options.ttlMs ?? 5 * 60_000)) {
      return this.cached.ring;
    }
    return this.load();
  }

  /**
   * Reads the secret again, unless it was read in the last `minRefreshMs` (a minute): a token
   * naming a key we do not hold cannot make every message call Secrets Manager.
   */
  async refresh(): Promise<ReplyKeyRing> {
    const cached = this.cached;
    if (cached !== undefined && this.now() - cached.at < (this.options.minRefreshMs ?? 60_000)) {
      return cached.ring;
    }
    return this.load();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private load(): Promise<ReplyKeyRing> {
    this.loading ??= (async () => {
      try {
        const output = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
        if (output.SecretString === undefined) {
          throw new MailConfigurationError("the reply-token secret has no SecretString");
        }
        const ring = parseReplyKeySecret(output.SecretString);
        this.cached = { ring, at: this.now() };
        return ring;
      } catch (error) {
        const stale = this.cached;
        if (
          stale !== undefined &&
          !(error instanceof MailConfigurationError) &&
          this.now() - stale.at < (this.options.staleForMs ?? 60 * 60_000)
        ) {
          logger.warn("could not refresh the reply-token keys; using the cached ones", {
            errorName: error instanceof Error ? error.name : "unknown",
          });
          return stale.ring;
        }
        throw error;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

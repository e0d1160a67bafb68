/**
 * SES out: `aws-ses-v2-local` (SES v1 and v2 SendEmail/SendRawEmail). Its page at `/` shows the mail
 * sent; `GET /store` returns it as JSON (the end-to-end tests read that). The functions send SES v2
 * Simple messages: the package keeps their fields as SES would write them (addresses as given,
 * names already encoded-words, Reply-To, the further headers such as In-Reply-To and
 * Auto-Submitted), and builds the MIME from them for its download link, so nothing here builds it
 * (test/integration/local/ses-simple.test.ts).
 *
 * The package keeps its mail in memory, in one store per process. So that mail survives a restart
 * like everything else, the runtime appends each message to a file of JSON lines under the data
 * folder and puts them back on start; a start also clears what an earlier runtime in the same process
 * (a test) left there. Appending costs one message per send (rewriting the whole store on every send
 * grew with the mail already sent: quadratic over a long run, issue 12). A send is answered only once
 * the line holding it is written, as SES answers only once it has the message: a kill after the
 * answer cannot lose mail the sender has marked sent (issue 10). A kill can cut the last line short:
 * loading keeps every whole line before it. A store saved as one JSON array (before issue 12) is
 * read once and moved into the lines.
 */
import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import * as sesLocal from "aws-ses-v2-local";
import { clearStore, getStoreReadonly, type Email } from "aws-ses-v2-local/dist/store.js";
import { LOCAL_HOST, listenError } from "./ports.js";

export interface SesServer {
  readonly endpoint: string;
  /** Mail sent so far (a copy). */
  emails(): Email[];
  stop(): Promise<void>;
}

export type { Email as SentEmail };

/** The one-array store file of earlier versions, beside the lines file. */
const LEGACY_STORE = "emails.json";

type StartServer = (config?: Partial<{ host: string; port: number }>) => Promise<Server>;

/** The package is CommonJS with `exports.default`: Node's ESM loader and bundlers expose it differently. */
function serverFactory(): StartServer {
  const candidate: unknown = (sesLocal as { default?: unknown }).default;
  if (typeof candidate === "function") return candidate as StartServer;
  const nested: unknown = (candidate as { default?: unknown } | undefined)?.default;
  if (typeof nested === "function") return nested as StartServer;
  throw new Error("aws-ses-v2-local: no server function found in the package");
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The mail in a store file of JSON lines, up to the first line that is not whole. */
export function parseMailLines(text: string): Email[] {
  const emails: Email[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      emails.push(JSON.parse(line) as Email);
    } catch {
      break; // cut short by a kill mid-append: never acknowledged
    }
  }
  return emails;
}

function mailLines(emails: readonly Email[]): string {
  return emails.map((email) => `${JSON.stringify(email)}\n`).join("");
}

/** The mail kept in `storeFile` (JSON lines), after moving a legacy one-array `emails.json` beside it into it. */
async function load(storeFile: string): Promise<Email[]> {
  const legacyFile = join(dirname(storeFile), LEGACY_STORE);
  const legacy = await readText(legacyFile);
  if (legacy !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(legacy);
    } catch {
      parsed = [];
    }
    if (Array.isArray(parsed) && parsed.length > 0 && (await readText(storeFile)) === undefined) {
      await mkdir(dirname(storeFile), { recursive: true });
      await appendFile(storeFile, mailLines(parsed as Email[]));
    }
    await rm(legacyFile, { force: true });
  }
  return parseMailLines((await readText(storeFile)) ?? "");
}

export async function startSesServer(options: {
  readonly port: number;
  readonly storeFile: string;
}): Promise<SesServer> {
  clearStore();
  const store = getStoreReadonly();
  store.emails.push(...(await load(options.storeFile)));

  await mkdir(dirname(options.storeFile), { recursive: true });

  // Appends run one after another, each taking every message not yet taken: order kept, no gaps.
  let saved = store.emails.length;
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const emails = getStoreReadonly().emails;
    if (emails.length === saved) return saving;
    const fresh = emails.slice(saved);
    saved = emails.length;
    // A failed append fails the sends waiting on it (their answers are dropped, so they retry), not later ones.
    saving = saving.catch(() => undefined).then(() => appendFile(options.storeFile, mailLines(fresh)));
    return saving;
  };
  const timer = setInterval(() => {
    if (getStoreReadonly().emails.length !== saved) void save();
  }, 1_000);
  timer.unref();

  let server: Server;
  try {
    // The package listens without an error handler: runtime.ts checks the port is free first.
    server = await serverFactory()({ host: LOCAL_HOST, port: options.port });
  } catch (error) {
    clearInterval(timer);
    throw listenError(error, "ses", options.port);
  }
  answerAfterSaving(server, save);
  return {
    endpoint: `http://${LOCAL_HOST}:${options.port}`,
    emails: () => [...getStoreReadonly().emails],
    stop: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await save();
    },
  };
}

/**
 * Holds every answer of the server until `save` has written the mail received so far, the
 * message this request sent included (even when an earlier request's append took it); the
 * package's routes are its own: they are wrapped, not edited.
 */
function answerAfterSaving(server: Server, save: () => Promise<void>): void {
  const listeners = server.listeners("request") as ((
    request: IncomingMessage,
    response: ServerResponse,
  ) => void)[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      save().then(
        () => end(...args),
        (error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))),
      );
      return response;
    }) as ServerResponse["end"];
    for (const listener of listeners) listener.call(server, request, response);
  });
}

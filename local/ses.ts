/**
 * SES out: `aws-ses-v2-local` (SES v1 and v2 SendEmail/SendRawEmail). Its page at `/` shows the mail
 * sent; `GET /store` returns it as JSON (the end-to-end tests read that).
 *
 * The package keeps its mail in memory, in one store per process. So that mail survives a restart
 * like everything else, the runtime saves the store under the data folder and puts it back on start;
 * a start also clears what an earlier runtime in the same process (a test) left there. A send is
 * answered only once the store holding it is saved, as SES answers only once it has the message: a
 * kill after the answer cannot lose mail the sender has marked sent (issue 10).
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { dirname } from "node:path";
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

type StartServer = (config?: Partial<{ host: string; port: number }>) => Promise<Server>;

/** The package is CommonJS with `exports.default`: Node's ESM loader and bundlers expose it differently. */
function serverFactory(): StartServer {
  const candidate: unknown = (sesLocal as { default?: unknown }).default;
  if (typeof candidate === "function") return candidate as StartServer;
  const nested: unknown = (candidate as { default?: unknown } | undefined)?.default;
  if (typeof nested === "function") return nested as StartServer;
  throw new Error("aws-ses-v2-local: no server function found in the package");
}

async function load(file: string): Promise<Email[]> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    return Array.isArray(parsed) ? (parsed as Email[]) : [];
  } catch {
    return [];
  }
}

export async function startSesServer(options: {
  readonly port: number;
  readonly storeFile: string;
}): Promise<SesServer> {
  clearStore();
  const store = getStoreReadonly();
  store.emails.push(...(await load(options.storeFile)));

  let saved = store.emails.length;
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const emails = [...getStoreReadonly().emails];
    saved = emails.length;
    saving = saving.then(async () => {
      await mkdir(dirname(options.storeFile), { recursive: true });
      const temporary = `${options.storeFile}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(emails));
      await rename(temporary, options.storeFile);
    });
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
  answerAfterSaving(server, () => getStoreReadonly().emails.length !== saved, save);
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
 * Holds every answer of the server until `save` has run, when `changed` says the store holds mail
 * not yet saved (the package's routes are its own: they are wrapped, not edited).
 */
function answerAfterSaving(server: Server, changed: () => boolean, save: () => Promise<void>): void {
  const listeners = server.listeners("request") as ((
    request: IncomingMessage,
    response: ServerResponse,
  ) => void)[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      if (!changed()) return end(...args);
      save().then(
        () => end(...args),
        (error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))),
      );
      return response;
    }) as ServerResponse["end"];
    for (const listener of listeners) listener.call(server, request, response);
  });
}

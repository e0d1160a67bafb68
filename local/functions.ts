/**
 * The handlers the local runtime invokes, loaded from the same modules the CDK stack bundles
 * (lib/api.ts: `functions/api/<route id>.ts`; lib/workflow.ts; lib/reactor.ts; lib/mail.ts;
 * lib/audit.ts). They are
 * imported only after the runtime has set the handlers' environment (settings.ts), because handler
 * modules create their SDK clients, logger and configuration when first loaded, as in Lambda.
 */
import type { Context } from "aws-lambda";
import { type RouteDefinition, routeEntry, routes } from "../functions/api/routes.js";

/** A Lambda handler as exported (`export const handler`), invoked with the event and a context. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalFunctions {
  /** HTTP API route handlers by route id. */
  readonly routes: ReadonlyMap<string, { readonly route: RouteDefinition; readonly handler: LambdaHandler }>;
  readonly openStage: LambdaHandler;
  readonly awaitResponse: LambdaHandler;
  readonly stageTimedOut: LambdaHandler;
  readonly checkActions: LambdaHandler;
  /** The event reactor (stream consumer): workflow starts, notifications, case-note pushes. */
  readonly react: LambdaHandler;
  readonly receiveEmail: LambdaHandler;
  /** Applies the verified replies receive-email queues (the replies queue's consumer). */
  readonly applyReply: LambdaHandler;
  readonly exportEvents: LambdaHandler;
  readonly writeDigests: LambdaHandler;
  /** Modules that could not be loaded: their handler throws the load error on every invocation. */
  readonly problems: readonly string[];
}

/** `functions/...ts` relative to the repository root, as a URL this module can import. */
function moduleUrl(entry: string): string {
  return new URL(`../${entry.replace(/\.ts$/, ".js")}`, import.meta.url).href;
}

async function importHandler(entry: string): Promise<LambdaHandler> {
  // A dynamic import has no static type: the module is checked for its `handler` export here.
  const module = (await import(moduleUrl(entry))) as { handler?: unknown };
  if (typeof module.handler !== "function") throw new Error(`${entry} does not export a handler function`);
  return module.handler as LambdaHandler;
}

/**
 * Loads every handler. One that cannot be loaded (a syntax error, a missing export) does not stop
 * the runtime: it is reported, and invoking it fails with the reason, as a broken deployment
 * package fails its invocations on AWS.
 */
export async function loadFunctions(): Promise<LocalFunctions> {
  const problems: string[] = [];
  const load = async (entry: string): Promise<LambdaHandler> => {
    try {
      return await importHandler(entry);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      problems.push(`${entry}: ${reason}`);
      return () => Promise.reject(new Error(`${entry} could not be loaded: ${reason}`));
    }
  };
  const routeHandlers = new Map<string, { route: RouteDefinition; handler: LambdaHandler }>();
  await Promise.all(
    routes.map(async (route) => {
      routeHandlers.set(route.id, { route, handler: await load(routeEntry(route)) });
    }),
  );
  const [
    openStage,
    awaitResponse,
    stageTimedOut,
    checkActions,
    react,
    receiveEmail,
    applyReply,
    exportEvents,
    writeDigests,
  ] = await Promise.all([
    load("functions/workflow/open-stage.ts"),
    load("functions/workflow/await-response.ts"),
    load("functions/workflow/stage-timed-out.ts"),
    load("functions/workflow/check-actions.ts"),
    load("functions/reactor/reactor.ts"),
    load("functions/mail/receive-email.ts"),
    load("functions/mail/apply-reply.ts"),
    load("functions/audit/export-events.ts"),
    load("functions/audit/write-digests.ts"),
  ]);
  return {
    routes: routeHandlers,
    openStage,
    awaitResponse,
    stageTimedOut,
    checkActions,
    react,
    receiveEmail,
    applyReply,
    exportEvents,
    writeDigests,
    problems,
  };
}

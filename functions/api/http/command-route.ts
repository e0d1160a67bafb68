import { z } from "zod";
import { type CommandResult, executeCommand } from "../../app/execute-command.js";
import type { Command } from "../../domain/challenge/commands.js";
import type { ApiDependencies } from "./dependencies.js";
import { type RouteSpec, defineRoute } from "./middleware.js";
import { commandResultSchema, stageLabeller, timelineEntry } from "./views.js";

/**
 * Command routes: the request body is the command's own schema minus what the server supplies
 * (`type`; `challengeId` and any other id from the path; `actor` from the token; `channel` "api"),
 * derived with `.omit` so it can never drift from the domain. Bodies are strict: an `actor` or
 * `challengeId` in a body is a 400, not silently ignored.
 */

/** The command fields the server fills in; `.omit(COMMAND_ENVELOPE)` leaves what the client sends. */
export const COMMAND_ENVELOPE = { type: true, challengeId: true, actor: true, channel: true } as const;

/** An id in a path (challenge, action, person, team, case record). */
export const pathIdSchema = z.string().min(1).max(128);

/** Path parameters of the routes under /v1/challenges/{challengeId}. */
export const challengePathSchema = z.strictObject({ challengeId: pathIdSchema });

/** The response body of every command route. */
export function commandResultBody(deps: Pick<ApiDependencies, "protocols">, result: CommandResult) {
  const label = stageLabeller(deps.protocols(result.state.protocolId));
  return { challenge: result.state, events: result.events.map((e) => timelineEntry(e, label)) };
}

/** Anything that parses a full command (each command's schema does). */
interface CommandParser {
  parse(input: unknown): Command;
}

export function commandRoute<
  B extends z.ZodType,
  P extends z.ZodObject = typeof challengePathSchema,
>(options: {
  readonly routeId: string;
  readonly type: Command["type"];
  /** The full command schema: the assembled command is parsed with it, so what reaches `decide` is checked. */
  readonly command: CommandParser;
  readonly body: B;
  /** Defaults to `{ challengeId }`; routes with more path ids (actionId, kind) extend it. */
  readonly path?: P;
  readonly description?: string;
}): RouteSpec<B, P> {
  return defineRoute<B, P>({
    routeId: options.routeId,
    body: options.body,
    path: (options.path ?? challengePathSchema) as P,
    response: {
      status: 200,
      description: options.description ?? "The challenge after the command, and the events it recorded",
      schema: commandResultSchema,
    },
    handle: async ({ body, path, principal }, deps) => {
      const command = options.command.parse({
        ...(body as object),
        ...(path as object),
        type: options.type,
        actor: principal.actor,
        channel: "api",
      });
      return {
        status: 200,
        body: commandResultBody(deps, await executeCommand(deps, principal.tenantId, command)),
      };
    },
  });
}

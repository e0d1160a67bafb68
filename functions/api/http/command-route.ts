import * as z from "zod/mini";
import { type CommandResult, executeCommand } from "../../app/execute-command.js";
import type { Command, CommandExpectation } from "../../domain/challenge/commands.js";
import type { RouteDefinition } from "../routes.js";
import { commandDependencies } from "./command-dependencies.js";
import type { ApiDependencies } from "./dependencies.js";
import { IF_MATCH_HEADER, type RouteSpec, defineRoute, etagOf, expectedVersionFrom } from "./middleware.js";
import { challengePathSchema } from "./path-params.js";
import { commandResultSchema, timelineEntries } from "./views.js";

/**
 * Command routes: the request body is the command's own schema minus what the server supplies
 * (`type`; `challengeId` and any other id from the path; `actor` from the token; `channel` "api"),
 * derived with `.omit` so it can never drift from the domain. Bodies are strict: an `actor` or
 * `challengeId` in a body is a 400, not silently ignored.
 */

/**
 * The command fields the server fills in; `.omit(COMMAND_ENVELOPE)` leaves what the client sends.
 * `expected` comes from the request too, but from the `If-Match` header and the body's `stageId`.
 */
export const COMMAND_ENVELOPE = {
  type: true,
  challengeId: true,
  actor: true,
  channel: true,
  expected: true,
} as const;

/** The stage a command acts on: the id of the open stage, as read (`challenge.currentStage.stageId`). */
const stageIdField = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(128),
    z.describe(
      "The id of the open stage this acts on, as read (`challenge.currentStage.stageId`). Refused with 409 " +
        "STAGE_MOVED when that stage is no longer open, so a double click or a retry never acts twice.",
    ),
    z.meta({ examples: ["stage_1"] }),
  );

/**
 * A command route's body: the command's own fields plus the `stageId` it acts on, `required` for
 * commands that move a challenge up (a repeated escalation would otherwise climb again) and
 * `optional` for those that act within or end the open stage (a repeat is refused by the state anyway).
 */
export function withStageId(body: z.ZodMiniObject, stageId: "required" | "optional") {
  return z.strictObject({
    ...body.shape,
    stageId: stageId === "required" ? stageIdField : z.optional(stageIdField),
  });
}

/** The precondition a request states: the If-Match version and the body's stage id, if any. */
function expectationOf(stageId: unknown, ifMatch: string | undefined): CommandExpectation | undefined {
  const version = expectedVersionFrom(ifMatch);
  const expected = {
    ...(typeof stageId === "string" ? { stageId } : {}),
    ...(version === undefined ? {} : { version }),
  };
  return Object.keys(expected).length === 0 ? undefined : expected;
}

/** The response body of every command route. */
export function commandResultBody(deps: Pick<ApiDependencies, "protocols">, result: CommandResult) {
  const protocol = deps.protocols(result.state.protocolId);
  return { challenge: result.state, events: timelineEntries(result.events, protocol, result.state) };
}

/** Anything that parses a full command (each command's schema does). */
interface CommandParser {
  parse(input: unknown): Command;
}

export function commandRoute<
  B extends z.ZodMiniType,
  P extends z.ZodMiniObject = typeof challengePathSchema,
>(options: {
  readonly route: RouteDefinition;
  readonly type: Command["type"];
  /** The full command schema: the assembled command is parsed with it, so what reaches `decide` is checked. */
  readonly command: CommandParser;
  readonly body: B;
  /** Defaults to `{ challengeId }`; routes with more path ids (actionId, kind) extend it. */
  readonly path?: P;
  readonly description?: string;
  /**
   * The command names its stage itself (ShortenDeadline's `stageId`): the body's `stageId` is then
   * both the command's field and the precondition, so one field cannot say two things.
   */
  readonly commandNamesStage?: boolean;
}): RouteSpec<B, P> {
  return defineRoute<B, P>({
    route: options.route,
    dependencies: commandDependencies,
    body: options.body,
    path: (options.path ?? challengePathSchema) as P,
    response: {
      status: 200,
      description: options.description ?? "The challenge after the command, and the events it recorded",
      schema: commandResultSchema,
    },
    handle: async ({ body, path, principal, event }, deps) => {
      const { stageId, ...fields } = body as { stageId?: unknown };
      const expected = expectationOf(stageId, event.headers[IF_MATCH_HEADER]);
      const command = options.command.parse({
        ...fields,
        ...(options.commandNamesStage === true ? { stageId } : {}),
        ...(path as object),
        type: options.type,
        actor: principal.actor,
        channel: "api",
        ...(expected === undefined ? {} : { expected }),
      });
      const result = await executeCommand(deps, principal.tenantId, command);
      return {
        status: 200,
        headers: { etag: etagOf(result.state.version) },
        body: commandResultBody(deps, result),
      };
    },
  });
}

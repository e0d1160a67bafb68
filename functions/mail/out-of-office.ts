import { createHash } from "node:crypto";
import { type AbsenceDirectory, NotInDirectoryError, recordAbsence } from "../app/absences.js";
import type { CommandResult } from "../app/execute-command.js";
import { londonDay } from "../domain/london-time.js";
import { absenceOn } from "../domain/absence.js";
import { type Actor, type Command, DomainError } from "../domain/challenge/index.js";
import type { MailObserver } from "./outbound.js";
import type { OutOfOfficeNotice } from "./out-of-office-notice.js";
import { type TokenLookup, normaliseEmail, recipientRefOf, stageRefOf } from "./reply-token.js";

// What the receiving function reads of the message: in its own module, free of the command path.
export { type OutOfOfficeNotice, isOutOfOffice, outOfOfficeNotice } from "./out-of-office-notice.js";

/**
 * An out-of-office reply to a stage's email: never an answer (inbound-policy.ts refuses every
 * automatic message as one), but it says the recipient is away. When it comes, authenticated, from
 * the address the stage's email went to, about the stage open now, it marks them absent in the
 * directory from today until the day the reply states (functions/domain/absence-dates.ts; with no
 * end when it states none) and passes the stage to their role's named cover (RouteToCover): the
 * cover gets the stage, the absent recipient a copy, the raiser is told, and the deadline stays.
 * With no cover named, the absence is still recorded and the stage stays where it is.
 *
 * receive-email.ts reads the notice (out-of-office-notice.ts) of every message refused as an
 * automatic reply and hands it on; apply-reply.ts acts on it ({@link actOnOutOfOffice}). A retry of the same
 * message records nothing twice (the absence's id comes from the Message-ID, and a stage already
 * passed on is no longer the absent person's).
 */

/** What the inbound handler knows about the message's challenge (receive-email.ts's loadChallenge). */
export interface OutOfOfficeContext {
  readonly actor: Actor | undefined;
  readonly context: {
    readonly expectedRecipientEmail: string | null;
    readonly currentStageId: string | null;
    readonly currentStageOpenedAt: string | null;
  };
}

export interface OutOfOfficeDependencies {
  readonly people: Partial<AbsenceDirectory>;
  readonly execute: (tenantId: string, command: Command) => Promise<CommandResult>;
  readonly observer: MailObserver;
  readonly clock: () => Date;
}

export type OutOfOfficeOutcome =
  | { readonly outcome: "not_for_open_stage" }
  | {
      readonly outcome: "rerouted" | "no_cover" | "not_rerouted";
      /** The absence's last day, when the reply stated one. */
      readonly until?: string;
    };

/** Fail closed: only the address the open stage's email went to, about the stage open now. */
function holderOf(
  notice: OutOfOfficeNotice,
  token: TokenLookup,
  loaded: OutOfOfficeContext,
): { tenantId: string; challengeId: string; stageId: string; actor: Actor } | undefined {
  if (!token.ok || token.claims.party !== "assignee") return undefined;
  const from = normaliseEmail(notice.from);
  const { expectedRecipientEmail, currentStageId, currentStageOpenedAt } = loaded.context;
  if (
    loaded.actor === undefined ||
    expectedRecipientEmail === null ||
    currentStageId === null ||
    currentStageOpenedAt === null ||
    recipientRefOf(from) !== token.claims.recipientRef ||
    normaliseEmail(expectedRecipientEmail) !== from ||
    stageRefOf(currentStageId, currentStageOpenedAt) !== token.claims.stageRef
  ) {
    return undefined;
  }
  return {
    tenantId: token.claims.tenantId,
    challengeId: token.claims.challengeId,
    stageId: currentStageId,
    actor: loaded.actor,
  };
}

/** The directory's absence writer, when the inbound handler was given one. */
function absenceDirectoryOf(people: Partial<AbsenceDirectory>): AbsenceDirectory | undefined {
  const { getStaff, replaceAbsences } = people;
  if (getStaff === undefined || replaceAbsences === undefined) return undefined;
  return { getStaff: getStaff.bind(people), replaceAbsences: replaceAbsences.bind(people) };
}

export async function actOnOutOfOffice(
  deps: OutOfOfficeDependencies,
  message: {
    readonly notice: OutOfOfficeNotice;
    readonly token: TokenLookup;
    readonly loaded: OutOfOfficeContext;
  },
): Promise<OutOfOfficeOutcome> {
  const { notice } = message;
  const holder = holderOf(notice, message.token, message.loaded);
  if (holder === undefined) return { outcome: "not_for_open_stage" };
  const now = deps.clock();
  const today = londonDay(now.toISOString());
  const until = notice.until;
  const directory = absenceDirectoryOf(deps.people);
  if (directory !== undefined) {
    const entry = await directory.getStaff(holder.tenantId, holder.actor.id);
    // An absence already recorded for today (through the API, or an earlier reply) stands.
    if (entry !== undefined && absenceOn(entry.absences, today) === undefined) {
      const messageKey = notice.messageKey;
      try {
        await recordAbsence(directory, holder.tenantId, holder.actor.id, {
          absenceId: `ooo-${createHash("sha256").update(messageKey).digest("hex").slice(0, 24)}`,
          from: today,
          ...(until === undefined ? {} : { to: until }),
          source: "out_of_office",
          recordedBy: holder.actor.id,
          recordedAt: now.toISOString(),
        });
      } catch (error) {
        if (!(error instanceof NotInDirectoryError)) throw error;
      }
    }
  }
  const untilField = until === undefined ? {} : { until };
  try {
    await deps.execute(holder.tenantId, {
      type: "RouteToCover",
      challengeId: holder.challengeId,
      actor: holder.actor,
      channel: "email",
      stageId: holder.stageId,
      personId: holder.actor.id,
      because: "out_of_office",
      expected: { stageId: holder.stageId },
    });
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const outcome = error.code === "NO_RECIPIENT" ? "no_cover" : "not_rerouted";
    deps.observer.info("out-of-office reply: stage not passed to cover", {
      tenantId: holder.tenantId,
      challengeId: holder.challengeId,
      refusal: error.code,
    });
    return { outcome, ...untilField };
  }
  deps.observer.count("OutOfOfficeRerouted");
  deps.observer.info("out-of-office reply: stage passed to cover", {
    tenantId: holder.tenantId,
    challengeId: holder.challengeId,
    endStated: until !== undefined,
  });
  return { outcome: "rerouted", ...untilField };
}

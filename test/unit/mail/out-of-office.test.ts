import { describe, expect, it } from "vitest";
import type { CommandResult } from "../../../functions/app/execute-command.js";
import type { Absence } from "../../../functions/domain/absence.js";
import { type Command, DomainError } from "../../../functions/domain/challenge/index.js";
import type { SesVerdicts } from "../../../functions/mail/inbound-policy.js";
import {
  type OutOfOfficeContext,
  actOnOutOfOffice,
  isOutOfOffice,
  outOfOfficeNotice,
} from "../../../functions/mail/out-of-office.js";
import { type ParsedInboundEmail, parseInboundEmail } from "../../../functions/mail/parse-reply.js";
import { type TokenLookup, recipientRefOf, stageRefOf } from "../../../functions/mail/reply-token.js";
import type { StaffEntry } from "../../../functions/store/tenant-store.js";

/**
 * The out-of-office hook of the inbound mail (functions/mail/out-of-office.ts): which automatic
 * messages count, that only an authenticated reply from the open stage's recipient acts, what it
 * records and the command it sends. The whole path through SMTP is in test/e2e/cover.test.ts.
 */

const HOLDER = { id: "tm-carl", email: "carl@authority.example" };
const OPENED_AT = "2026-12-04T09:00:00.000Z";
const PASS: SesVerdicts = { spf: "PASS", dkim: "PASS", dmarc: "PASS", spam: "PASS", virus: "PASS" };

function raw(headers: Record<string, string>, text: string): string {
  const all = {
    From: `Carl Invented <${HOLDER.email}>`,
    To: "reply+token@reply.authority.example",
    Subject: "Automatic reply: Challenge CH-1 needs a response",
    "Message-ID": "<ooo-1@authority.example>",
    Date: "Sat, 05 Dec 2026 09:00:00 +0000",
    ...headers,
  };
  return `${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\r\n")}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}\r\n`;
}

const token: TokenLookup = {
  ok: true,
  claims: {
    tenantId: "t1",
    challengeId: "ch-1",
    stageRef: stageRefOf("level_1", OPENED_AT),
    recipientRef: recipientRefOf(HOLDER.email),
    party: "assignee",
    expiresAt: new Date("2027-02-01T00:00:00Z"),
  },
} as TokenLookup;

const loaded: OutOfOfficeContext = {
  actor: { id: HOLDER.id, role: "manager" },
  context: {
    expectedRecipientEmail: HOLDER.email,
    currentStageId: "level_1",
    currentStageOpenedAt: OPENED_AT,
  },
};

function harness(refuseWith?: DomainError) {
  const entry: { absences?: Absence[] } & StaffEntry = {
    personId: HOLDER.id,
    displayName: "Carl Invented",
    email: HOLDER.email,
    active: true,
    roles: [],
  };
  const commands: Command[] = [];
  const deps = {
    people: {
      getStaff: () => Promise.resolve(entry),
      replaceAbsences: (_t: string, _p: string, _e: unknown, absences: readonly Absence[]) => {
        entry.absences = [...absences];
        return Promise.resolve(true);
      },
    },
    execute: (_tenantId: string, command: Command): Promise<CommandResult> => {
      commands.push(command);
      return refuseWith === undefined ? Promise.resolve({} as CommandResult) : Promise.reject(refuseWith);
    },
    observer: { info: () => undefined, warn: () => undefined, count: () => undefined },
    clock: () => new Date("2026-12-05T09:00:00Z"),
  };
  return { deps, entry, commands };
}

const OOO_TEXT = "I am on annual leave until Monday 14 December. For urgent matters contact the duty team.";
const TODAY = "2026-12-05";

/** The notice the receiving function reads (and hands on), then what the applying function does with it. */
function noticeOf(parsed: ParsedInboundEmail, verdicts: SesVerdicts = PASS) {
  const notice = outOfOfficeNotice(parsed, verdicts, token, TODAY);
  if (notice === undefined) throw new Error("no out-of-office notice");
  return notice;
}

describe("out-of-office replies", () => {
  it("record the holder away until the stated day and ask for the stage to go to the cover", async () => {
    const { deps, entry, commands } = harness();
    const parsed = await parseInboundEmail(raw({ "Auto-Submitted": "auto-replied" }, OOO_TEXT));
    const notice = noticeOf(parsed);
    expect(notice).toEqual({
      from: HOLDER.email,
      messageKey: "<ooo-1@authority.example>",
      until: "2026-12-14",
    });
    const outcome = await actOnOutOfOffice(deps, { notice, token, loaded });
    expect(outcome).toEqual({ outcome: "rerouted", until: "2026-12-14" });
    expect(entry.absences).toMatchObject([
      { from: "2026-12-05", to: "2026-12-14", source: "out_of_office", recordedBy: HOLDER.id },
    ]);
    expect(commands).toEqual([
      {
        type: "RouteToCover",
        challengeId: "ch-1",
        actor: { id: HOLDER.id, role: "manager" },
        channel: "email",
        stageId: "level_1",
        personId: HOLDER.id,
        because: "out_of_office",
        expected: { stageId: "level_1" },
      },
    ]);
    // The same message again records nothing new.
    await actOnOutOfOffice(deps, { notice: noticeOf(parsed), token, loaded });
    expect(entry.absences).toHaveLength(1);
  });

  it("record an absence with no end when the reply states none, and say there is no cover when there is none", async () => {
    const { deps, entry } = harness(new DomainError("NO_RECIPIENT", "nobody is named cover"));
    const parsed = await parseInboundEmail(raw({}, "I am out of the office with limited access to email."));
    expect(await actOnOutOfOffice(deps, { notice: noticeOf(parsed), token, loaded })).toEqual({
      outcome: "no_cover",
    });
    expect(entry.absences?.[0]).not.toHaveProperty("to");
  });

  it("are not handed on when not authenticated, or not from the address the token was sent to", async () => {
    const parsed = await parseInboundEmail(raw({ "Auto-Submitted": "auto-replied" }, OOO_TEXT));
    expect(outOfOfficeNotice(parsed, { ...PASS, dmarc: "FAIL" }, token, TODAY)).toBeUndefined();
    const other = await parseInboundEmail(
      raw({ "Auto-Submitted": "auto-replied", From: "Dina <dina@authority.example>" }, OOO_TEXT),
    );
    expect(outOfOfficeNotice(other, PASS, token, TODAY)).toBeUndefined();
    const person = await parseInboundEmail(raw({ Subject: "Re: CH-1" }, "Agreed, see you Monday."));
    expect(outOfOfficeNotice(person, PASS, token, TODAY)).toBeUndefined();
  });

  it.each([
    ["a stage that has moved on", { ...loaded, context: { ...loaded.context, currentStageId: "level_2" } }],
    [
      "another sender than the stage's recipient",
      { ...loaded, context: { ...loaded.context, expectedRecipientEmail: "dina@authority.example" } },
    ],
    ["nobody the stage is addressed to", { ...loaded, actor: undefined }],
  ])("do nothing for %s", async (_, context) => {
    const { deps, entry, commands } = harness();
    const parsed = await parseInboundEmail(raw({ "Auto-Submitted": "auto-replied" }, OOO_TEXT));
    expect(await actOnOutOfOffice(deps, { notice: noticeOf(parsed), token, loaded: context })).toEqual({
      outcome: "not_for_open_stage",
    });
    expect(entry.absences).toBeUndefined();
    expect(commands).toEqual([]);
  });

  it("are told apart from bounces, list mail, read receipts and people's own replies", async () => {
    const ooo = await parseInboundEmail(
      raw({ "Auto-Submitted": "auto-replied", Subject: "Re: CH-1" }, OOO_TEXT),
    );
    expect(isOutOfOffice(ooo)).toBe(true);
    const bySubject = await parseInboundEmail(raw({ Subject: "Out of Office: CH-1" }, "Away."));
    expect(isOutOfOffice(bySubject)).toBe(true);
    const list = await parseInboundEmail(raw({ "List-Id": "<staff.authority.example>" }, OOO_TEXT));
    expect(isOutOfOffice(list)).toBe(false);
    const bounce = await parseInboundEmail(
      raw({ "X-Failed-Recipients": HOLDER.email, Subject: "Undeliverable: CH-1" }, OOO_TEXT),
    );
    expect(isOutOfOffice(bounce)).toBe(false);
    const person = await parseInboundEmail(
      raw({ Subject: "Re: CH-1" }, "I am back on Monday; I will look at it then."),
    );
    expect(isOutOfOffice(person)).toBe(false);
  });
});

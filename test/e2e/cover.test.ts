/**
 * End to end on the local runtime (npm start) with the demo authority, whose North Team Manager
 * (Carl) has a named cover (Dina, local/demo.ts):
 * 1. the IRO service manager records Carl's absence over the API; a challenge raised for the North
 *    team goes to Dina, acting for Carl, and Carl is copied;
 * 2. with Carl back (the absence ended), a challenge goes to Carl; his out-of-office reply to its
 *    email, over SMTP, records him away until the date it states and passes the open stage to Dina;
 *    the raiser is told, and the deadline does not move.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CHILDREN, raiseChallengeBody } from "../../local/demo.js";
import type { LocalRuntime } from "../../local/runtime.js";
import { type E2eRuntime, api, eventually, londonDate, startE2eRuntime } from "../support/e2e-harness.js";
import { type SentMail, bareAddress, isTo, sendReply, sentMail } from "../support/e2e-mail.js";

const CARL = { id: "tm-north-carl", email: "carl.mendez@example.org" };
const DINA = { id: "tm-south-dina", email: "dina.okafor@example.org" };
const ADA = "ada.lovelock@example.org";
const NORTH_CHILD = DEMO_CHILDREN[0];

interface Stage {
  readonly stageId: string;
  readonly deadline: string;
  readonly assignee: { readonly personId: string; readonly actingFor?: string };
  readonly copyTo: readonly { readonly personId: string }[];
}
interface ChallengeView {
  readonly challenge: { readonly challengeId: string; readonly currentStage: Stage | null };
  readonly timeline: readonly { readonly type: string; readonly summary: string }[];
}

let e2e: E2eRuntime;
const rt = (): LocalRuntime => e2e.current();
const token = (label: string): string => {
  const value = rt().tokens[label];
  if (value === undefined) throw new Error(`no demo token ${label}`);
  return value;
};
const mailTo = (address: string, after: number, subject?: RegExp): Promise<SentMail> =>
  eventually(`an email to ${address}`, async () =>
    (await sentMail(rt()))
      .slice(after)
      .find((m) => isTo(m, address) && (subject === undefined || subject.test(m.subject))),
  );
const raise = async (): Promise<ChallengeView["challenge"]> => {
  const raised = await api<{ challenge: ChallengeView["challenge"] }>(
    rt(),
    "POST",
    "/v1/challenges",
    token("IRO"),
    raiseChallengeBody(NORTH_CHILD),
  );
  expect(raised.status).toBe(201);
  return raised.body.challenge;
};
const view = async (challengeId: string): Promise<ChallengeView> =>
  (await api<ChallengeView>(rt(), "GET", `/v1/challenges/${challengeId}`, token("IRO"))).body;

beforeAll(async () => {
  e2e = await startE2eRuntime();
}, 120_000);

afterAll(async () => {
  await e2e.dispose();
});

describe("cover for an absent manager (npm start, demo authority)", () => {
  let absenceId = "";

  it("1. an absence recorded over the API: a new challenge goes to the cover, the holder copied", async () => {
    const today = londonDate(rt().clock.now());
    const recorded = await api<{ absence: { absenceId: string; recordedBy: string } }>(
      rt(),
      "POST",
      `/v1/directory/${CARL.id}/absences`,
      token("IRO_SERVICE_MANAGER"),
      { from: today },
    );
    expect(recorded.status).toBe(201);
    expect(recorded.body.absence.recordedBy).toBe("ism-jo");
    absenceId = recorded.body.absence.absenceId;
    const refused = await api(
      rt(),
      "POST",
      `/v1/directory/${CARL.id}/absences`,
      token("IRO_SERVICE_MANAGER"),
      {
        from: today,
        to: "2020-01-01",
      },
    );
    expect(refused.status).toBe(400);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");

    const before = (await sentMail(rt())).length;
    const challenge = await raise();
    expect(challenge.currentStage?.assignee).toMatchObject({ personId: DINA.id, actingFor: CARL.id });
    expect(challenge.currentStage?.copyTo.map((c) => c.personId)).toContain(CARL.id);
    const toCover = await mailTo(DINA.email, before);
    expect(toCover.replyTo).toHaveLength(1);
    const copy = await mailTo(CARL.email, before);
    expect(copy.replyTo).toEqual([]);
  }, 60_000);

  it("2. an out-of-office reply re-routes an open stage to the cover, tells the raiser, keeps the deadline", async () => {
    const ended = await api(
      rt(),
      "POST",
      `/v1/directory/${CARL.id}/absences/${absenceId}/end`,
      token("IRO_SERVICE_MANAGER"),
      {},
    );
    expect(ended.status).toBe(200);
    const before = (await sentMail(rt())).length;
    const challenge = await raise();
    const stage = challenge.currentStage;
    expect(stage?.assignee.personId).toBe(CARL.id);
    const mail = await mailTo(CARL.email, before);
    const replyTo = bareAddress(mail.replyTo[0] ?? "");
    expect(replyTo).not.toBe("");

    const afterStage = (await sentMail(rt())).length;
    await sendReply(rt(), {
      from: `Carl Mendez <${CARL.email}>`,
      to: replyTo,
      subject: `Automatic reply: ${mail.subject}`,
      text: "I am out of the office on annual leave, returning 4 January 2027. For urgent matters please contact the duty team.\n",
      inReplyTo: `<${mail.messageId}@email.amazonses.com>`,
    });
    const moved = await eventually("the stage passed to the cover", async () => {
      const v = await view(challenge.challengeId);
      return v.challenge.currentStage?.assignee.personId === DINA.id ? v : undefined;
    });
    expect(moved.challenge.currentStage?.assignee.actingFor).toBe(CARL.id);
    expect(moved.challenge.currentStage?.deadline).toBe(stage?.deadline);
    expect(moved.timeline.map((e) => e.type)).toContain("StageReassigned");
    expect(moved.timeline.map((e) => e.type)).not.toContain("ResponseRecorded");

    const toCover = await mailTo(DINA.email, afterStage);
    expect(toCover.replyTo).toHaveLength(1);
    const toRaiser = await mailTo(ADA, afterStage, /Passed to cover/);
    expect(toRaiser.text).toMatch(/out of the office until \w* ?3 January 2027/);
    expect(toRaiser.text).toContain("The deadline has not changed");

    const directory = await api<{
      staff: { personId: string; absences?: { source: string; to?: string }[] }[];
    }>(rt(), "GET", "/v1/directory", token("IRO_SERVICE_MANAGER"));
    const carl = directory.body.staff.find((s) => s.personId === CARL.id);
    expect(carl?.absences?.at(-1)).toMatchObject({ source: "out_of_office", to: "2027-01-03" });
    expect(e2e.warnings).toEqual([]);
  }, 60_000);
});

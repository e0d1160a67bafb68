/**
 * One challenge's whole journey on the local runtime `npm start` runs (local/runtime.ts): real HTTP
 * with real tokens, real SMTP for the reply, the local SES, Step Functions, DynamoDB Local and its
 * stream, the audit export files. Time is moved with the clock endpoint, never waited for.
 *
 * The steps share one runtime and one challenge and run in order; each says what it needs from the
 * ones before, so a failure points at its step.
 */
import { GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CHILDREN, DEMO_CONFIG, DEMO_TENANT, raiseChallengeBody } from "../../local/demo.js";
import type { LocalRuntime } from "../../local/runtime.js";
import {
  type E2eRuntime,
  advanceClock,
  api,
  auditExport,
  eventually,
  londonDate,
  atReadVersion,
  startE2eRuntime,
  thursdayBeforeLateMayBankHoliday,
} from "../support/e2e-harness.js";
import { type SentMail, bareAddress, isTo, sendReply, sentMail } from "../support/e2e-mail.js";

interface TimelineEntry {
  readonly seq: number;
  readonly type: string;
  readonly at: string;
  readonly actorRole: string;
  readonly channel: string;
  readonly summary: string;
}

interface Challenge {
  readonly challengeId: string;
  readonly version: number;
  readonly status: string;
  readonly currentStage: {
    readonly stageId: string;
    readonly via: string;
    readonly deadline: string;
    readonly assignee: { readonly personId: string; readonly email: string };
    readonly responses: readonly { readonly response: string }[];
  } | null;
  readonly actionPlan: {
    readonly actions: readonly { readonly id: string; readonly status: string }[];
  } | null;
}

interface ChallengeView {
  readonly challenge: Challenge;
  readonly timeline: readonly TimelineEntry[];
}

const PEOPLE = {
  iro: "ada.lovelock@example.org",
  teamManager: "carl.mendez@example.org",
  serviceManager: "evan.price@example.org",
  headOfService: "gus.amari@example.org",
} as const;
const CHILD = DEMO_CHILDREN[0];
const OTHER_TENANT = "other-borough";

describe("a challenge's journey on the local runtime (npm start)", () => {
  let e2e: E2eRuntime;
  let schedule: ReturnType<typeof thursdayBeforeLateMayBankHoliday>;
  let challengeId = "";
  const rt = (): LocalRuntime => e2e.current();
  const token = (label: string): string => {
    const value = rt().tokens[label];
    if (value === undefined) throw new Error(`no demo token ${label}`);
    return value;
  };
  const get = async (): Promise<ChallengeView> => {
    const response = await api<ChallengeView>(rt(), "GET", `/v1/challenges/${challengeId}`, token("IRO"));
    expect(response.status).toBe(200);
    return response.body;
  };
  const until = (what: string, test: (view: ChallengeView) => boolean): Promise<ChallengeView> =>
    eventually(what, async () => {
      const view = await get();
      return test(view) ? view : undefined;
    });
  const mailTo = (address: string, after = 0): Promise<SentMail> =>
    eventually(`an email to ${address}`, async () =>
      (await sentMail(rt())).slice(after).find((mail) => isTo(mail, address)),
    );
  const sfn = (): SFNClient =>
    new SFNClient({
      endpoint: rt().urls.stepfunctions,
      region: rt().settings.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
  const execution = async () => {
    const client = sfn();
    try {
      const { executions = [] } = await client.send(
        new ListExecutionsCommand({ stateMachineArn: rt().settings.stateMachineArn }),
      );
      const found = executions.filter((e) => e.name?.includes(challengeId));
      expect(found).toHaveLength(1); // one execution per challenge, never forked
      const [only] = found;
      if (only?.executionArn === undefined) throw new Error("no execution");
      const { events = [] } = await client.send(
        new GetExecutionHistoryCommand({ executionArn: only.executionArn }),
      );
      // Plain strings: the local engine also records "ExecutionResumed", which AWS has no type for.
      return {
        status: only.status,
        history: events.map((e): string => e.type ?? ""),
        // The states entered, in order: the last is where the workflow is (or waits).
        entered: events.flatMap((e) =>
          e.stateEnteredEventDetails?.name === undefined ? [] : [e.stateEnteredEventDetails.name],
        ),
      };
    } finally {
      client.destroy();
    }
  };

  beforeAll(async () => {
    e2e = await startE2eRuntime();
    // Thursday 10:00 before the late May bank holiday: five working days run over the Monday off.
    schedule = thursdayBeforeLateMayBankHoliday(rt().clock.now());
    await advanceClock(rt(), { to: schedule.thursday.toISOString() });
  }, 90_000);

  afterAll(async () => {
    await e2e.dispose();
  }, 30_000);

  it("1. an IRO raises a challenge over the API; the team manager's email appears in local SES", async () => {
    const raised = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      "/v1/challenges",
      token("IRO"),
      raiseChallengeBody(CHILD),
    );
    expect(raised.status).toBe(201);
    challengeId = raised.body.challenge.challengeId;
    expect(raised.headers.get("location")).toBe(`/v1/challenges/${challengeId}`);
    const stage = raised.body.challenge.currentStage;
    expect(stage?.stageId).toBe("level_1");
    expect(stage?.assignee.email).toBe(PEOPLE.teamManager);
    // Close of business on the fifth working day, the bank holiday not counted.
    expect(stage?.deadline).toBe(schedule.deadline.toISOString());

    await eventually("the challenge's workflow to start", async () =>
      (await execution()).status === "RUNNING" ? true : undefined,
    );
    const mail = await mailTo(PEOPLE.teamManager);
    expect(mail.subject).not.toContain(CHILD.name); // no child's name in a subject
    expect(bareAddress(mail.replyTo[0] ?? "")).toMatch(
      new RegExp(`^reply\\+[a-z2-7.]+@${rt().settings.mailDomain}$`),
    );
  }, 30_000);

  it("2. with no answer, the team manager is reminded the day before, then five working days pass across the bank holiday and it escalates itself to the service manager that Friday", async () => {
    const mailBefore = (await sentMail(rt())).length;
    const isReminder = (mail: SentMail): boolean =>
      isTo(mail, PEOPLE.teamManager) && mail.subject.startsWith("Reminder:");
    // Four working days (Friday, bank holiday skipped, Tuesday to Thursday): not yet due, but past
    // the reminder time (Nottingham: one working day before the deadline, at 17:00).
    const fourDays = await advanceClock(rt(), { workingDays: 4 });
    expect(londonDate(fourDays.now)).toBe(londonDate(new Date(schedule.deadline.getTime() - 86_400_000)));
    let view = await until("the reminder", (v) => v.timeline.some((e) => e.type === "ReminderSent"));
    expect(view.challenge.currentStage?.stageId).toBe("level_1");
    expect(view.timeline.find((e) => e.type === "ReminderSent")).toMatchObject({
      actorRole: "system",
      channel: "timer",
    });
    const reminder = await eventually("the reminder email", async () =>
      (await sentMail(rt())).slice(mailBefore).find(isReminder),
    );
    // The same reply address as the stage's first email: a reply to either is the response.
    const opened = (await sentMail(rt())).find((mail) => isTo(mail, PEOPLE.teamManager));
    expect(reminder.replyTo).toEqual(opened?.replyTo);
    // The workflow waits again, now for the deadline, before the clock moves on.
    await eventually("the wait for the deadline", async () => {
      const { entered } = await execution();
      // The reminder's wait timed out (TimerThenAwait sent it) and a stage wait is pending again.
      const waiting = ["AwaitResponse", "TimerThenAwait"].includes(entered.at(-1) ?? "");
      return waiting && entered.includes("TimerThenAwait") ? true : undefined;
    });

    // The fifth: past 17:00 on the Friday of the following week.
    await advanceClock(rt(), { workingDays: 1 });
    view = await until("the automatic escalation", (v) => v.challenge.currentStage?.stageId === "level_2");
    const escalated = view.timeline.find((e) => e.type === "Escalated");
    expect(escalated).toMatchObject({ actorRole: "system", channel: "timer" });
    expect(Date.parse(escalated?.at ?? "")).toBeGreaterThanOrEqual(schedule.deadline.getTime());
    expect(londonDate(escalated?.at ?? "")).toBe(londonDate(schedule.deadline));
    expect(view.challenge.currentStage?.via).toBe("auto_escalated");
    expect(view.challenge.currentStage?.assignee.email).toBe(PEOPLE.serviceManager);

    await mailTo(PEOPLE.serviceManager, mailBefore);
    // Exactly one reminder, and it came before the escalation.
    expect((await sentMail(rt())).filter(isReminder)).toHaveLength(1);
    const types = view.timeline.map((e) => e.type);
    expect(types.indexOf("ReminderSent")).toBeLessThan(types.indexOf("Escalated"));
  }, 30_000);

  it("3a. the service manager answers by replying to the email, over SMTP", async () => {
    const mail = await mailTo(PEOPLE.serviceManager);
    const replyTo = bareAddress(mail.replyTo[0] ?? "");
    expect(replyTo).not.toBe("");
    await sendReply(rt(), {
      from: `Evan Price <${PEOPLE.serviceManager}>`,
      to: replyTo,
      subject: `Re: ${mail.subject}`,
      text: "A permanence planning meeting is booked for next week; the plan will be shared with the child.\n",
      inReplyTo: `<${mail.messageId}@email.amazonses.com>`,
    });
    const view = await until("the emailed response", (v) =>
      v.timeline.some((e) => e.type === "ResponseRecorded"),
    );
    expect(view.timeline.find((e) => e.type === "ResponseRecorded")).toMatchObject({
      channel: "email",
      actorRole: "manager",
    });
    expect(view.challenge.currentStage?.responses[0]?.response).toContain(
      "permanence planning meeting is booked",
    );
  }, 30_000);

  it("5. the runtime is stopped and started mid-challenge: nothing lost, nothing duplicated", async () => {
    await rt().idle();
    const before = await get();
    const mailBefore = await sentMail(rt());
    const exported = await eventually("the audit export to catch up", async () => {
      const { lines } = await auditExport(rt());
      const mine = lines.filter((l) => l.challengeId === challengeId);
      return mine.length === before.timeline.length ? mine : undefined;
    });
    const clockBefore = rt().clock.now().getTime();

    await e2e.restart();
    // The stream consumers read on from their checkpoints: were anything replayed, mail would be resent.
    await rt().idle();

    const after = await get();
    expect(after.timeline).toEqual(before.timeline);
    expect(after.timeline.map((e) => e.seq)).toEqual(before.timeline.map((_, i) => i + 1));
    expect(after.challenge.version).toBe(before.challenge.version);
    expect((await sentMail(rt())).map((m) => m.messageId)).toEqual(mailBefore.map((m) => m.messageId));
    // The service clock carries on from where it was.
    expect(rt().clock.now().getTime()).toBeGreaterThanOrEqual(clockBefore);
    const { status, history } = await eventually("the execution to resume", async () => {
      const found = await execution();
      return found.history.includes("ExecutionResumed") ? found : undefined;
    });
    expect(status).toBe("RUNNING");
    expect(history.filter((t) => t === "ExecutionStarted")).toHaveLength(1);
    const { lines } = await auditExport(rt());
    expect(lines.filter((l) => l.challengeId === challengeId)).toHaveLength(exported.length);
    // Each consumer resumed after its checkpoint: no stream record was given to it twice.
    expect([...e2e.deliveries.keys()].sort()).toEqual(["export-events", "react"]);
    for (const [consumer, sequenceNumbers] of e2e.deliveries) {
      expect(new Set(sequenceNumbers).size, consumer).toBe(sequenceNumbers.length);
    }
  }, 90_000);

  it("3b. the IRO escalates with reasons; the head of service agrees an action plan over the API", async () => {
    const mailBefore = (await sentMail(rt())).length;
    const escalated = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/escalations`,
      token("IRO"),
      {
        // The stage the IRO escalates from: a double click or a retry cannot escalate twice.
        stageId: "level_2",
        reasons: "The response gives no date for the permanence plan itself, only a meeting.",
      },
    );
    expect(escalated.status).toBe(200);
    expect(escalated.body.challenge.currentStage).toMatchObject({ stageId: "level_3", via: "escalated" });
    expect(escalated.body.challenge.currentStage?.assignee.email).toBe(PEOPLE.headOfService);
    expect(escalated.headers.get("etag")).toBe(`"${String(escalated.body.challenge.version)}"`);
    // The same escalation again (a double click): refused, saying where the challenge is now.
    const again = await api<{ code: string; detail: string }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/escalations`,
      token("IRO"),
      {
        stageId: "level_2",
        reasons: "The response gives no date for the permanence plan itself, only a meeting.",
      },
    );
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("STAGE_MOVED");
    expect(again.body.detail).toContain("level_3");

    const today = londonDate(rt().clock.now());
    const byWhen = londonDate(new Date(rt().clock.now().getTime() + 7 * 86_400_000));
    expect(byWhen > today).toBe(true);
    const agreed = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/action-plan`,
      token("HEAD_OF_SERVICE"),
      {
        stageId: "level_3",
        actions: [
          {
            action: "Hold the permanence planning meeting and share the plan with the child.",
            byWhen,
            byWhom: "Team Manager",
          },
        ],
      },
    );
    expect(agreed.status).toBe(200);
    expect(agreed.body.challenge.status).toBe("monitoring");

    await mailTo(PEOPLE.headOfService, mailBefore);
  }, 30_000);

  it("4. an action is missed; the IRO reopens at the stage last exited; it is resolved and closed; the timeline and the audit export show every step", async () => {
    let view = await get();
    const action = view.challenge.actionPlan?.actions[0];
    if (action === undefined) throw new Error("no action plan (step 3b)");
    // The day after the action's date: monitoring looks at the plan, and asks the IRO about it
    // (once the workflow waits on the plan: the clock must not move while it works out the wait).
    await eventually("the workflow to monitor the plan", async () =>
      (await execution()).entered.at(-1) === "AwaitMonitoring" ? true : undefined,
    );
    await advanceClock(rt(), { days: 8 });
    await until("the action falling due", (v) => v.timeline.some((e) => e.type === "ActionsFellDue"));
    const asked = await eventually("the action-due email", async () =>
      (await sentMail(rt())).find(
        (m) => isTo(m, PEOPLE.iro) && m.subject.startsWith("Agreed actions due by "),
      ),
    );
    expect(asked.text).toContain("Hold the permanence planning meeting and share the plan with the child.");

    const missed = await api(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/actions/${action.id}/miss`,
      token("IRO"),
      {
        note: "No meeting was held and no date has been set.",
      },
    );
    expect(missed.status).toBe(200);
    const reopened = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/reopenings`,
      token("IRO"),
      {
        reason: "The agreed action was missed.",
      },
    );
    expect(reopened.status).toBe(200);
    expect(reopened.body.challenge.status).toBe("open");
    expect(reopened.body.challenge.currentStage).toMatchObject({ stageId: "level_3", via: "reopened" });

    const resolved = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/resolution`,
      token("IRO"),
      {
        summary: "The meeting was held and the permanence plan is agreed and shared with the child.",
      },
    );
    expect(resolved.status).toBe(200);
    expect(resolved.body.challenge.status).toBe("resolved");
    const closed = await api<{ challenge: Challenge }>(
      rt(),
      "POST",
      `/v1/challenges/${challengeId}/closure`,
      token("IRO"),
      {
        summary: "Resolved at Level 3 after a missed action; closed.",
      },
    );
    expect(closed.status).toBe(200);
    expect(closed.body.challenge.status).toBe("closed");

    view = await get();
    expect(view.timeline.map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ReminderSent",
      "Escalated",
      "StageOpened",
      "ResponseRecorded",
      "Escalated",
      "StageOpened",
      "ActionPlanAgreed",
      "ActionsFellDue",
      "ActionMissed",
      "Reopened",
      "StageOpened",
      "Resolved",
      "Closed",
    ]);
    expect(view.timeline.map((e) => e.seq)).toEqual(view.timeline.map((_, i) => i + 1));

    const { report, lines } = await eventually("every event in the audit export", async () => {
      const found = await auditExport(rt());
      return found.lines.filter((l) => l.challengeId === challengeId).length === view.timeline.length
        ? found
        : undefined;
    });
    expect(report.problems).toEqual([]);
    const mine = lines.filter((l) => l.challengeId === challengeId).sort((a, b) => a.seq - b.seq);
    expect(mine.map((l) => [l.seq, l.type])).toEqual(view.timeline.map((e) => [e.seq, e.type]));

    // The workflow looks at the plan again on its next check, sees the challenge closed and ends.
    await advanceClock(rt(), { workingDays: 5 });
    const finished = await eventually("the workflow to finish", async () => {
      const found = await execution();
      return found.status === "SUCCEEDED" ? found : undefined;
    });
    expect(finished.history.at(-1)).toBe("ExecutionSucceeded");

    // No notification went out twice (a replayed stream record would resend one).
    const mail = await sentMail(rt());
    const keys = mail.map((m) => JSON.stringify([m.to, m.cc, m.subject, m.text]));
    expect(new Set(keys).size).toBe(keys.length);
    for (const [consumer, sequenceNumbers] of e2e.deliveries) {
      expect(new Set(sequenceNumbers).size, consumer).toBe(sequenceNumbers.length);
    }
    // Nothing failed on the way (a handler error would have been retried, and reported here).
    expect(e2e.warnings).toEqual([]);
  }, 45_000);

  it("6. a second tenant's tokens see none of it", async () => {
    const admin = await rt().mintToken({
      sub: "ism-other",
      role: "iro_service_manager",
      tenant_id: OTHER_TENANT,
      scope: "challenges/read challenges/write config/read config/write reports/read",
    });
    const configured = await api(
      rt(),
      "PUT",
      "/v1/config",
      admin,
      DEMO_CONFIG,
      await atReadVersion(rt(), admin),
    );
    expect(configured.status).toBe(200);
    const otherIro = await rt().mintToken({
      sub: "iro-other",
      role: "IRO",
      tenant_id: OTHER_TENANT,
      scope: "challenges/read challenges/write config/read",
    });
    const otherAuditor = await rt().mintToken({
      sub: "auditor-other",
      role: "auditor",
      tenant_id: OTHER_TENANT,
      scope: "challenges/read config/read reports/read",
    });

    const leaks = (body: unknown): boolean => {
      const text = JSON.stringify(body ?? "");
      return [CHILD.name, CHILD.caseRecordId, PEOPLE.iro, PEOPLE.teamManager, "permanence"].some((s) =>
        text.includes(s),
      );
    };
    const reads: [string, string][] = [
      [otherIro, `/v1/challenges/${challengeId}`],
      [otherAuditor, `/v1/challenges/${challengeId}`],
      [otherIro, `/v1/children/${CHILD.caseRecordId}/challenges`],
      [otherAuditor, `/v1/teams/${CHILD.team.id}/challenges`],
      [otherAuditor, "/v1/trays/overdue"],
      [otherIro, "/v1/trays/mine"],
      [otherAuditor, "/v1/directory"],
    ];
    for (const [bearer, path] of reads) {
      const response = await api(rt(), "GET", path, bearer);
      expect([200, 403, 404], path).toContain(response.status);
      expect(
        leaks(response.body),
        `${path} leaks the other tenant's data: ${JSON.stringify(response.body)}`,
      ).toBe(false);
      if (path.startsWith("/v1/challenges/")) expect(response.status, path).toBe(404);
    }
    const acts: [string, Record<string, unknown>][] = [
      ["escalations", { stageId: "level_1", reasons: "Trying to act on another authority's challenge." }],
      ["reopenings", { reason: "Trying to act on another authority's challenge." }],
      ["withdrawal", { reason: "Trying to act on another authority's challenge." }],
    ];
    for (const [action, body] of acts) {
      const response = await api(rt(), "POST", `/v1/challenges/${challengeId}/${action}`, otherIro, body);
      expect([403, 404], action).toContain(response.status);
      expect(leaks(response.body), action).toBe(false);
    }

    // A token for the demo tenant signed by any other key is refused before any handler runs.
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({ role: "auditor", tenant_id: DEMO_TENANT, scope: "challenges/read" })
      .setProtectedHeader({ alg: "RS256" })
      .setSubject("auditor-kit")
      .setIssuer(rt().settings.jwtIssuer)
      .setAudience(rt().settings.jwtAudience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey);
    const refused = await api(rt(), "GET", `/v1/challenges/${challengeId}`, forged);
    expect(refused.status).toBe(401);
    expect(leaks(refused.body)).toBe(false);

    // And the demo tenant's own auditor does see it.
    const own = await api<ChallengeView>(rt(), "GET", `/v1/challenges/${challengeId}`, token("AUDITOR"));
    expect(own.status).toBe(200);
    expect(own.body.challenge.status).toBe("closed");
  }, 30_000);
});

/**
 * End to end on the local runtime `npm start` runs: the demo authority's IRO raises a challenge;
 * the team manager's email carries their own acknowledgement link; opening it (GET) records
 * nothing, pressing Acknowledge (POST, no login) records it as them, through the link; the live
 * page (GET /v1/reports/live, a service manager's token) shows who has the challenge and that they
 * acknowledged it from the link, and the challenge's timeline says so. A second tenant's challenge
 * never appears on the demo authority's page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CHILDREN, raiseChallengeBody } from "../../local/demo.js";
import type { LocalRuntime } from "../../local/runtime.js";
import { type E2eRuntime, api, atReadVersion, eventually, startE2eRuntime } from "../support/e2e-harness.js";
import { isTo, sentMail } from "../support/e2e-mail.js";

const TEAM_MANAGER = "carl.mendez@example.org";
const OTHER_TENANT = "other-borough-e2e";

let e2e: E2eRuntime;
const rt = (): LocalRuntime => e2e.current();
const token = (label: string): string => {
  const value = rt().tokens[label];
  if (value === undefined) throw new Error(`no demo token ${label}`);
  return value;
};

beforeAll(async () => {
  e2e = await startE2eRuntime();
}, 120_000);

afterAll(async () => {
  await e2e.dispose();
}, 30_000);

describe("acknowledgement from the link, seen on the live page", () => {
  let challengeId = "";
  let link = "";

  it("1. the stage's email carries the team manager's own acknowledgement link", async () => {
    const raised = await api<{ challenge: { challengeId: string } }>(
      rt(),
      "POST",
      "/v1/challenges",
      token("IRO"),
      raiseChallengeBody(DEMO_CHILDREN[0]),
    );
    expect(raised.status).toBe(201);
    challengeId = raised.body.challenge.challengeId;
    const mail = await eventually("the team manager's email", async () =>
      (await sentMail(rt())).find(
        (m) => isTo(m, TEAM_MANAGER) && (m.subject.includes(challengeId) || m.text.includes(challengeId)),
      ),
    );
    const found = new RegExp(`${rt().urls.api}/v1/ack/\\S+`).exec(mail.text)?.[0];
    expect(found).toBeDefined();
    link = found ?? "";
    expect(mail.html).toContain(`href="${link}"`);
  }, 60_000);

  it("2. opening the link shows a confirmation page and records nothing; pressing the button acknowledges, once", async () => {
    const timeline = async () =>
      (
        await api<{ timeline: { type: string; channel: string; summary: string }[] }>(
          rt(),
          "GET",
          `/v1/challenges/${challengeId}`,
          token("IRO"),
        )
      ).body.timeline;
    const opened = await fetch(link);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain('<button type="submit">Acknowledge</button>');
    expect((await timeline()).some((e) => e.type === "StageAcknowledged")).toBe(false);

    const pressed = await fetch(link, { method: "POST" });
    expect(pressed.status).toBe(200);
    expect(await pressed.text()).toContain("is recorded");
    const again = await fetch(link, { method: "POST" });
    expect(await again.text()).toContain("was already recorded");
    const acks = (await timeline()).filter((e) => e.type === "StageAcknowledged");
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ channel: "link" });
  }, 30_000);

  it("3. the live page shows who has it and that they acknowledged it from the link; the timeline is one click away", async () => {
    const response = await fetch(`${rt().urls.api}/v1/reports/live`, {
      headers: { authorization: `Bearer ${token("SERVICE_MANAGER_NORTH")}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await response.text();
    expect(page).toContain(`<a href="#timeline-${challengeId}">${challengeId}</a>`);
    expect(page).toContain("Carl Mendez");
    expect(page).toContain("Yes by Carl Mendez");
    expect(page).toContain("from the link in the email");
    expect(page).toContain(`id="timeline-${challengeId}"`);
    expect(page).toMatch(/acknowledged by Carl Mendez, [^<]*\(link\)/);
    expect(page).not.toContain(DEMO_CHILDREN[0].name);
    // IROs are refused, as for the other reports.
    const iro = await fetch(`${rt().urls.api}/v1/reports/live`, {
      headers: { authorization: `Bearer ${token("IRO")}` },
    });
    expect(iro.status).toBe(403);
  }, 30_000);

  it("4. another tenant's challenges never appear on the demo authority's page", async () => {
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
      { protocolId: "nottingham", closureDays: [], reminders: {} },
      await atReadVersion(rt(), admin),
    );
    expect(configured.status).toBe(200);
    const manager = {
      displayName: "Olu Otherplace",
      email: "olu.otherplace@other-borough.example",
      active: true,
      roles: [{ role: "team_manager", scope: { kind: "team", teamId: DEMO_CHILDREN[1].team.id } }],
    };
    const staffed = await api(rt(), "PUT", "/v1/directory/tm-other", admin, manager, {
      "if-match": configured.headers.get("etag") ?? "",
    });
    expect(staffed.status).toBe(200);
    const iro = await rt().mintToken({
      sub: "iro-other",
      role: "IRO",
      tenant_id: OTHER_TENANT,
      scope: "challenges/read challenges/write config/read",
    });
    const body = raiseChallengeBody(DEMO_CHILDREN[1]);
    const foreign = await api<{ challenge: { challengeId: string } }>(rt(), "POST", "/v1/challenges", iro, {
      form: { ...body.form, child: { ...body.form.child, caseRecordId: "OTHER-CHILD-77" } },
    });
    expect(foreign.status).toBe(201);
    const ours = await (
      await fetch(`${rt().urls.api}/v1/reports/live`, {
        headers: { authorization: `Bearer ${token("SERVICE_MANAGER_NORTH")}` },
      })
    ).text();
    expect(ours).toContain(challengeId);
    expect(ours).not.toContain(foreign.body.challenge.challengeId);
    expect(ours).not.toContain("OTHER-CHILD-77");
    const theirs = await (
      await fetch(`${rt().urls.api}/v1/reports/live`, { headers: { authorization: `Bearer ${admin}` } })
    ).text();
    expect(theirs).toContain(foreign.body.challenge.challengeId);
    expect(theirs).not.toContain(challengeId);
    expect(e2e.warnings).toEqual([]);
  }, 60_000);
});

/**
 * End to end: an IRM on a Halton tenant records a good practice notification over the API, and the
 * email reaches the practitioner's first line manager through the table's stream, the reactor and
 * the local SES. The demo authority runs Nottingham's protocol, which has no good practice
 * notifications, so a second tenant is configured on Halton's (PUT /v1/config) with its staff
 * directory (PUT /v1/directory/{personId}).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalRuntime } from "../../local/runtime.js";
import { type E2eRuntime, api, atReadVersion, eventually, startE2eRuntime } from "../support/e2e-harness.js";
import { isTo, sentMail } from "../support/e2e-mail.js";

const TENANT = "halton-e2e";
const TEAM = { id: "team-halton-cin", name: "Children in Need Team" };
const MANAGER = {
  personId: "pm-halton-1",
  displayName: "Priya Madeup",
  email: "priya.madeup@halton-e2e.example",
  active: true,
  roles: [{ role: "team_manager", scope: { kind: "team", teamId: TEAM.id } }],
};

let e2e: E2eRuntime;
const rt = (): LocalRuntime => e2e.current();

beforeAll(async () => {
  e2e = await startE2eRuntime();
}, 120_000);

afterAll(async () => {
  await e2e.dispose();
});

describe("a good practice notification", () => {
  it("is recorded and emailed to the practitioner's first line manager", async () => {
    const admin = await rt().mintToken({
      sub: "ism-halton",
      role: "iro_service_manager",
      tenant_id: TENANT,
      scope: "challenges/read challenges/write config/read config/write",
    });
    const configured = await api(
      rt(),
      "PUT",
      "/v1/config",
      admin,
      { protocolId: "halton", closureDays: [], reminders: {} },
      await atReadVersion(rt(), admin),
    );
    expect(configured.status).toBe(200);
    const { personId, ...entry } = MANAGER;
    const staffed = await api(rt(), "PUT", `/v1/directory/${personId}`, admin, entry, {
      "if-match": configured.headers.get("etag") ?? "",
    });
    expect(staffed.status).toBe(200);

    const irm = await rt().mintToken({
      sub: "irm-halton",
      role: "IRO",
      tenant_id: TENANT,
      scope: "challenges/read challenges/write config/read",
    });
    const recorded = await api<{ notification: { id: string } }>(rt(), "POST", "/v1/good-practice", irm, {
      child: { caseRecordId: "HAL-100200" },
      track: "LAC",
      practitioner: { name: "Sam Invented", team: TEAM },
      firstLineManager: { name: MANAGER.displayName },
      about: "overall_progress",
      whatWasGood: "Sam's direct work has helped the child settle and be heard at the review.",
    });
    expect(recorded.status).toBe(201);
    const id = recorded.body.notification.id;

    const email = await eventually("the good practice email", async () =>
      (await sentMail(rt())).find((m) => isTo(m, MANAGER.email)),
    );
    expect(email.subject).toContain(`GP-${id}`);
    expect(email.text).toContain("Dear Priya Madeup");
    expect(email.text).toContain("helped the child settle");
    expect(email.replyTo).toEqual([]);
    // Once: nothing else was sent to the manager.
    expect((await sentMail(rt())).filter((m) => isTo(m, MANAGER.email))).toHaveLength(1);
    expect(e2e.warnings).toEqual([]);
  }, 60_000);
});

import { describe, expect, it } from "vitest";
import { caseNotesFor } from "../../../functions/case-notes/case-notes.js";
import { toExportLine } from "../../../functions/audit/export-format.js";
import { timeline } from "../../../functions/audit/timeline.js";
import { describeEvents } from "../../../functions/domain/challenge/describe.js";
import { replay } from "../../../functions/domain/challenge/evolve.js";
import { initialState } from "../../../functions/domain/challenge/evolve.js";
import {
  MAIL_DELIVERY_ACTOR,
  type UndeliverableFacts,
  recordUndeliverable,
} from "../../../functions/domain/email-undeliverable.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { IRO, Story, TENANT, aForm, chain } from "../audit/support.js";

// An email about a challenge that could not be delivered, as an event of the challenge.

const protocol = getPreset("nottingham");

function raised(): Story {
  const story = new Story(protocol, "ch-undeliverable");
  story.do(
    { type: "Raise", actor: IRO, channel: "api", form: aForm({ track: "LAC" }) },
    "2026-10-15T09:00:00Z",
  );
  return story;
}

const BOUNCE: UndeliverableFacts = {
  notificationId: "ses-0001",
  eventSeq: 2,
  kind: "stage_opened",
  recipientRole: "assignee",
  recipientTitle: "Team Manager",
  recipientPersonId: "tm-tam-fictional",
  reason: "bounced",
};

describe("recordUndeliverable", () => {
  it("records the failed email as the challenge's next event, by the mail system, changing nothing else", () => {
    const story = raised();
    const before = story.state;
    const recorded = recordUndeliverable(before, story.events, BOUNCE, "2026-10-15T09:05:00.000Z");
    expect(recorded?.event).toEqual({
      type: "NotificationUndeliverable",
      challengeId: "ch-undeliverable",
      seq: before.version + 1,
      at: "2026-10-15T09:05:00.000Z",
      actor: MAIL_DELIVERY_ACTOR,
      channel: "email",
      data: BOUNCE,
    });
    expect(recorded?.state).toEqual({ ...before, version: before.version + 1 });
  });

  it("records an email once: the same failure reported again (or a complaint after a bounce) adds nothing", () => {
    const story = raised();
    const first = recordUndeliverable(story.state, story.events, BOUNCE, "2026-10-15T09:05:00.000Z");
    if (first === undefined) throw new Error("not recorded");
    const history = [...story.events, first.event];
    const state = replay(history, "ch-undeliverable");
    expect(recordUndeliverable(state, history, BOUNCE, "2026-10-15T09:06:00.000Z")).toBeUndefined();
    expect(
      recordUndeliverable(state, history, { ...BOUNCE, reason: "complaint" }, "2026-10-15T09:07:00.000Z"),
    ).toBeUndefined();
    // Another email's failure is its own event.
    expect(
      recordUndeliverable(
        state,
        history,
        { ...BOUNCE, notificationId: "ses-0002" },
        "2026-10-15T09:08:00.000Z",
      )?.event.seq,
    ).toBe(state.version + 1);
  });

  it("records nothing for a challenge that does not exist (deleted at the end of its retention)", () => {
    expect(recordUndeliverable(initialState("gone"), [], BOUNCE, "2026-10-15T09:05:00.000Z")).toBeUndefined();
  });
});

describe("an undeliverable email in the timeline, the audit export and the case notes", () => {
  const story = raised();
  const recorded = recordUndeliverable(story.state, story.events, BOUNCE, "2026-10-15T09:05:00.000Z");
  if (recorded === undefined) throw new Error("not recorded");
  const events = [...story.events, recorded.event];

  it("is a sentence naming the person (by name when the directory knows it) and what happened", () => {
    const names = (id: string) => (id === "tm-tam-fictional" ? "Tam Fictional" : undefined);
    expect(describeEvents(events, { protocol }).at(-1)?.line).toBe(
      "An email to the Team Manager could not be delivered: their mail system refused it",
    );
    expect(describeEvents(events, { protocol, names }).at(-1)?.line).toBe(
      "An email to Tam Fictional, Team Manager could not be delivered: their mail system refused it",
    );
  });

  it("reaches the audit export and the timeline read from it, without an address", () => {
    const lines = chain(TENANT, events).map(toExportLine);
    const last = JSON.stringify(lines.at(-1));
    expect(last).toContain('"type":"NotificationUndeliverable"');
    expect(last).toContain('"recipientPersonId":"tm-tam-fictional"');
    expect(last).not.toMatch(/@/);
    expect(timeline(lines, protocol).at(-1)?.text).toBe(
      "An email to the Team Manager could not be delivered: their mail system refused it",
    );
  });

  it("is a case note saying the person may not know", () => {
    const note = caseNotesFor(replay(events, "ch-undeliverable"), events, protocol).at(-1);
    expect(note?.body).toContain(
      "An email about this challenge to the Team Manager could not be delivered: their mail system refused it.",
    );
    expect(note?.body).toContain("They may not know that the challenge is waiting for them.");
  });
});

import { describe, expect, it } from "vitest";
import { caseNotesFor } from "../../../../functions/case-notes/case-notes.js";
import { toExportLine } from "../../../../functions/audit/export-format.js";
import { timeline } from "../../../../functions/audit/timeline.js";
import { timelineEntries } from "../../../../functions/api/http/views.js";
import { describeEvents, describeLines } from "../../../../functions/domain/challenge/describe.js";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { IRO, Story, TENANT, aForm, chain, manager, personId } from "../../audit/support.js";

/**
 * One describer (functions/domain/challenge/describe.ts) for the audit timeline, the API's summaries
 * and the case notes: the renderings lay out what it says and cannot disagree.
 */

const protocol = getPreset("nottingham");
const TEAM = "north";
const teamManager = manager("team_manager", TEAM);

/** Raised in BST, escalated to a deadline in GMT, resolved: free text at every step. */
function escalatedOverTheClockChange(): Story {
  const story = new Story(protocol, "ch-describe");
  story.do(
    { type: "Raise", actor: IRO, channel: "api", form: aForm({ track: "LAC" }) },
    "2026-10-15T09:00:00Z",
  );
  story.do(
    { type: "Respond", actor: teamManager, channel: "email", response: "Panel on Friday, Invented note." },
    "2026-10-16T09:00:00Z",
  );
  story.do(
    { type: "Escalate", actor: IRO, channel: "api", reasons: "Panel date still not fixed." },
    "2026-10-19T09:00:00Z",
  );
  story.do(
    { type: "MarkResolved", actor: IRO, channel: "api", summary: "Panel fixed." },
    "2026-10-27T10:00:00Z",
  );
  return story;
}

describe("describeEvents", () => {
  const story = escalatedOverTheClockChange();
  const NAMES = new Map([
    [IRO.id, "Ada Madeup"],
    [personId("team_manager", TEAM), "Tam Fictional"],
  ]);
  const asked: string[] = [];
  const names = (id: string): string | undefined => {
    asked.push(id);
    return NAMES.get(id);
  };
  const named = describeEvents(story.events, { protocol, names, channels: true });
  const anonymous = describeEvents(story.events, { protocol });

  it("describes every event once, in seq order, with a line and a note", () => {
    expect(named.map((d) => d.event.seq)).toEqual(story.events.map((e) => e.seq));
    for (const d of named) {
      expect(d.line.length).toBeGreaterThan(0);
      expect(d.note.action.length).toBeGreaterThan(0);
      expect(d.note.outcome.length).toBeGreaterThan(0);
    }
  });

  it("tells a stage opened by the same action on that action's line, deadlines in London words", () => {
    const [raised, opened, , escalated] = anonymous;
    // Raised Thursday 15 October (BST): five working days is Thursday 22 October, 5pm BST (16:00Z).
    expect(raised?.lineWithOpening).toMatch(
      /^Raised by IRO about the care plan at Level 1: .+, due by 5pm on Thursday 22 October$/,
    );
    expect(opened?.line).toMatch(/^Level 1 opened for the .+; response due by 5pm on Thursday 22 October$/);
    // Escalated Monday 19 October (BST) to a deadline after the clocks go back: still 5pm (17:00Z).
    expect(escalated?.event.type).toBe("Escalated");
    expect(escalated?.lineWithOpening).toMatch(/ due by 5pm on Monday 26 October$/);
    const nextOpened = anonymous[4]?.event;
    expect(nextOpened?.type === "StageOpened" ? nextOpened.data.deadline : "").toBe(
      "2026-10-26T17:00:00.000Z",
    );
  });

  it("names people only through the lookup, by id, and says the channel only when asked", () => {
    expect(named[2]?.line).toBe("Response at Level 1 from Tam Fictional, Team Manager (email)");
    expect(anonymous[2]?.line).toBe("Response at Level 1 from Team Manager");
    expect(new Set(asked)).toEqual(new Set([IRO.id, personId("team_manager", TEAM)]));
  });

  it("keeps the professionals' own words out of the line and in the note", () => {
    const lines = named.map((d) => d.line).join("\n");
    const notes = named.map((d) => `${d.note.action}\n${d.note.detail ?? ""}\n${d.note.outcome}`).join("\n");
    for (const words of ["Panel on Friday, Invented note.", "Panel date still not fixed.", "Panel fixed."]) {
      expect(lines).not.toContain(words);
      expect(notes).toContain(words);
    }
  });

  it("files an escalation under the stage it left", () => {
    expect(named.map((d) => [d.event.type, d.stageId])).toEqual([
      ["ChallengeRaised", "level_1"],
      ["StageOpened", "level_1"],
      ["ResponseRecorded", "level_1"],
      ["Escalated", "level_1"],
      ["StageOpened", "level_2"],
      ["Resolved", "level_2"],
    ]);
  });

  it("says the same without the notes when asked for lines only (the API and the audit timeline)", () => {
    const withoutNotes = named.map(({ note: _note, ...rest }) => rest);
    expect(describeLines(story.events, { protocol, names, channels: true })).toEqual(withoutNotes);
    expect(describeLines(story.events, { protocol }).map((d) => d.line)).toEqual(
      anonymous.map((d) => d.line),
    );
  });
});

describe("the three renderings say what the describer says", () => {
  const story = escalatedOverTheClockChange();
  const described = describeEvents(story.events, { protocol });

  it("the API's summaries are its lines", () => {
    expect(timelineEntries(story.events, protocol).map((e) => e.summary)).toEqual(
      described.map((d) => d.line),
    );
  });

  it("the audit timeline is its lines, openings told with their cause, with the channel", () => {
    const lines = chain(TENANT, story.events).map(toExportLine);
    const withChannels = describeEvents(story.events, { protocol, channels: true });
    const expected = withChannels
      .filter((d, i) => withChannels[i - 1]?.lineWithOpening === undefined)
      .map((d) => d.lineWithOpening ?? d.line);
    expect(timeline(lines, protocol).map((e) => e.text)).toEqual(expected);
    expect(expected[0]).toMatch(/^Raised by IRO \(api\) about the care plan at Level 1/);
  });

  it("the case notes are its notes, laid out", () => {
    const notes = caseNotesFor(story.state, story.events, protocol);
    expect(notes.map((n) => n.stageId)).toEqual(described.map((d) => d.stageId));
    notes.forEach((note, i) => {
      const parts = described[i]?.note;
      expect(note.body).toContain(parts?.action ?? "-");
      expect(note.body).toContain(parts?.outcome ?? "-");
    });
  });
});

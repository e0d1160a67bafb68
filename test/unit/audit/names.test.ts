import { describe, expect, it } from "vitest";
import { caseNotesFor } from "../../../functions/case-notes/case-notes.js";
import { toExportLine } from "../../../functions/audit/export-format.js";
import { timeline } from "../../../functions/audit/timeline.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { IRO, Story, TENANT, aForm, chain, manager, personId } from "./support.js";

/**
 * Issue 9 §2: the timeline and the case notes show who acted by name and title ("approved by Jo
 * Bloggs, Head of Safeguarding"), resolved from the directory when they are rendered; the events
 * and the export keep the person's id only.
 */

const rotherham = getPreset("rotherham");
const TEAM = "north";
const NAMES = new Map([
  [personId("iro_service_manager", TEAM), "Pat Invented"],
  [personId("head_of_safeguarding", TEAM), "Jo Bloggs"],
  [IRO.id, "Ada Madeup"],
]);
const names = (id: string) => NAMES.get(id);

function referred(): Story {
  const story = new Story(rotherham, "ch-names");
  story.do(
    { type: "Raise", actor: IRO, channel: "api", form: aForm({ track: "LAC", themes: [] }) },
    "2026-05-21T09:00:00Z",
  );
  story.do(
    {
      type: "RequestReferral",
      actor: IRO,
      channel: "api",
      kind: "cafcass",
      rationale: "Acute.",
      attestations: ["warrants_external_challenge", "acute_concern", "impact_on_child_considered"],
    },
    "2026-05-21T10:00:00Z",
  );
  for (const role of ["iro_service_manager", "head_of_safeguarding"]) {
    story.do(
      {
        type: "ApproveReferral",
        actor: manager(role, TEAM),
        channel: "api",
        kind: "cafcass",
        approverRole: role,
      },
      "2026-05-21T11:00:00Z",
    );
  }
  return story;
}

describe("who acted, by name and title", () => {
  it("the timeline: 'approved by Jo Bloggs, HoS for Safeguarding'; without the directory, the role only", () => {
    const story = referred();
    const lines = chain(TENANT, story.events).map(toExportLine);
    const named = timeline(lines, rotherham, names).map((e) => e.text);
    expect(named).toContain("Cafcass referral approved by Jo Bloggs, HoS for Safeguarding (api)");
    expect(named).toContain("Cafcass referral approved by Pat Invented, Service Manager (api)");
    expect(named[0]).toMatch(/^Raised by Ada Madeup, IRO \(api\)/);
    const anonymous = timeline(lines, rotherham).map((e) => e.text);
    expect(anonymous).toContain("Cafcass referral approved by the HoS for Safeguarding (api)");
    // The export keeps ids, never the names.
    expect(JSON.stringify(lines)).not.toMatch(/Jo Bloggs|Pat Invented|Ada Madeup/);
    expect(lines.find((l) => l.type === "ReferralApproved")?.actor).toEqual(
      manager("iro_service_manager", TEAM),
    );
  });

  it("the case notes name the approver the same way", () => {
    const story = referred();
    const notes = caseNotesFor(story.state, story.events, rotherham, names);
    const approvals = notes.filter((n) => n.eventType === "ReferralApproved").map((n) => n.body);
    expect(approvals.join("\n")).toContain("Jo Bloggs, HoS for Safeguarding approved the Cafcass referral.");
  });
});

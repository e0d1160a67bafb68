import type { Protocol, Recipient, Stage, TrackProtocol } from "../protocol.js";

/**
 * docs/seeds/004_6959d518ae246d89.txt: Nottingham City Council, Safeguarding & Quality Assurance
 * Service, "Practice Resolution Protocol" for IROs, Child Protection Chairs and partner agencies.
 * One ladder for both tracks; every level may be with children's services or with the
 * "equivalent in our partner agency".
 */

function level(n: 1 | 2 | 3 | 4, recipient: Recipient, caseNoteTitle: string, citation: string): Stage {
  return {
    id: `level_${n}`,
    label: `Level ${n}`,
    title: `Practice Resolution Protocol LEVEL ${n}`,
    informal: false,
    recipient,
    partnerRecipient: {
      role: recipient.role,
      title: `${recipient.title} (or equivalent in our partner agency)`,
    },
    copyTo: [],
    // "5 working day response needs to be given at every stage"
    responseWindowWorkingDays: 5,
    // The levels are answered on the Practice Resolution Document, not at meetings.
    meeting: false,
    // "Failure to respond will lead automatically to level N+1"
    onNoResponse: "escalate",
    // A response that does not resolve the matter: the IRO/CPC is asked to state why and escalate;
    // if they do neither within their decision window it goes to the next level by itself, as the
    // seed's "then automatically send to the next level" intends. The seed sets no window for the
    // IRO/CPC's statement: the default, 1 working day, keeps the 20-day total within reach.
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "If the matter is not resolved within the 5 working days, then the IRO/CPC should state why on the Practice Resolution Protocol document and then automatically send to the next level of management.",
    },
    caseNoteTitle,
    citation,
  };
}

const stages: Stage[] = [
  level(
    1,
    { role: "team_manager", title: "Team Manager" },
    "Practice Resolution Protocol started: Level 1 sent to the Team Manager",
    "The Team Manager (or equivalent in our partner agency) is required to respond to this practice resolution matter within 5 working days. Failure to respond will lead automatically to level 2 of the Practice Resolution Protocol.",
  ),
  level(
    2,
    { role: "service_manager", title: "Service Manager" },
    "Practice Resolution Protocol escalated: Level 2 sent to the Service Manager",
    "The Service Manager (or equivalent in our partner agency) is then required to respond to this practice resolution matter within 5 working days. Failure to respond will lead automatically to level 3 of the Practice Resolution Protocol.",
  ),
  level(
    3,
    { role: "head_of_service", title: "Head of Service" },
    "Practice Resolution Protocol escalated: Level 3 sent to the Head of Service",
    "The Head of Service (or equivalent in our partner agency) is required to respond to this practice resolution matter within 5 working days. Failure to respond will lead automatically to level 4 of the Practice Resolution Protocol.",
  ),
  // The Level 4 form's header repeats "The Head of Service ... is required to respond" (a slip copied
  // from Level 3); its completion box and the guidance both say the Director, as here.
  level(
    4,
    { role: "director_childrens_services", title: "Director of Children's Integrated Services" },
    "Practice Resolution Protocol escalated: Level 4 sent to the Director of Children's Integrated Services",
    "The Director of Children's Integrated Services (or equivalent in our partner agency) is required to respond to this practice resolution matter within 5 working days. Failure to respond will lead automatically to level 5 of the Practice Resolution Protocol.",
  ),
];

/**
 * Level 5 is the Cafcass referral, for IROs only, once level 4 has failed. The IRO "does not require
 * permission": the discussions with the managers are attested, not approved. Offered on both
 * tracks because the seed's split is by raiser role (IRO or CPC), not by track.
 */
const cafcass: NonNullable<TrackProtocol["cafcass"]> = {
  when: "after_final_stage",
  raiserRoles: ["IRO"],
  approvalBy: [],
  attestations: [
    { id: "legal_advice_sought", text: "Legal advice has been sought (IRO Handbook 8.11 & 8.12)." },
    {
      id: "discussed_with_service_manager",
      text: "The referral has been discussed with the IRO's Service Manager.",
    },
    {
      id: "discussed_with_head_of_safeguarding",
      text: "The referral has been discussed with the Head of Service for Safeguarding and Quality Assurance Service.",
    },
  ],
  concurrentWithEscalation: false,
  recipient: { role: "cafcass", title: "Cafcass" },
  documents: [],
  citation:
    "before any external referral is made the IRO is to seek legal advice and have had discussions with the Service Manager and Head of Service for Safeguarding and Quality Assurance Service",
};

function track(track: "CP" | "LAC"): TrackProtocol {
  return {
    track,
    stages,
    totalTargetWorkingDays: 20,
    bypass: {
      IRO: {
        allowed: "any",
        citation:
          "'the IRO may bypass any level and progress the resolution to the level s/he considers most appropriate' (IRO Handbook 6.2)",
      },
      CPC: {
        allowed: "safeguarding_concern",
        citation:
          "Additionally, the CPC's may bypass any level and progress the practice resolution to the level s/he considers most appropriate should they have safeguarding concerns.",
      },
    },
    cafcass,
    // The flowchart's last box, one line per raiser role.
    endOfLadderGuidance: {
      IRO: "IRO to take legal advice to consider referral to Cafcass",
      CPC: "CPC to take advice from Service Manager & Head of Safeguarding and Quality Assurance Service about next action",
    },
  };
}

export const nottingham: Protocol = {
  id: "nottingham",
  name: "Nottingham City Council: Practice Resolution Protocol",
  source: { file: "004_6959d518ae246d89.txt", title: "Practice Resolution Protocol" },
  raiserTitles: { IRO: "IRO", CPC: "CPC" },
  tracks: { CP: track("CP"), LAC: track("LAC") },
  // The seed has no tick boxes; these are the two grounds its introduction gives for a challenge.
  themes: [
    { id: "needs_not_met", label: "Child's needs not being properly met" },
    { id: "not_safeguarded", label: "Child not being properly safeguarded" },
  ],
  // Silent. Five-day windows: remind the recipient one working day before the deadline.
  reminderWorkingDaysBeforeDeadline: 1,
  // Silent: the protocol has no good practice notifications (a tenant may switch them on).
  goodPracticeNotifications: false,
};

import type { BypassRule, Protocol, Stage } from "../protocol.js";

/**
 * docs/seeds/003_c95e50a19d3109a8.txt: "Child Protection Resolution Process", an authority
 * recording on Liquidlogic. Child protection only.
 *
 * Every stage ends with the chair choosing the outcome on the form, and the seed says what that
 * outcome should be when the stage is not resolved or nobody answers: "the outcome of this part of
 * the resolution should be to 'progress to CP- resolution process stage N'". So a missed deadline
 * asks the chair to choose (`ask_raiser`, on the informal stage too: resolve it or open the formal
 * stage), and if they do not within a working day the stage progresses by itself, as the seed says
 * it should: a challenge cannot sit at a stage forever.
 *
 * Windows: the seed gives 5 working days for stages 1 and 2 only. The informal stage (a telephone
 * conversation) and stages 3 and 4 (meetings) have none; 5 working days is used for each, in line
 * with the stated ones.
 *
 * Role slugs: the Service Director sits between the Heads of Service and the DCS, the tier 000
 * calls Assistant Director, so the slug is `assistant_director`; the title keeps the seed's words.
 */

const stages: Stage[] = [
  {
    id: "informal",
    label: "Informal",
    title: "Form: CP informal resolution",
    informal: true,
    recipient: { role: "social_worker", title: "Social Worker" },
    copyTo: [{ role: "team_manager", title: "Team Manager" }],
    responseWindowWorkingDays: 5,
    meeting: false,
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "If the issue is not resolved, or communication is not forthcoming then the outcome of this part of the resolution should be to 'progress to CP- resolution process stage 1'.",
    },
    caseNoteTitle: "Case note, Record sheet entry- IRO CP, informal resolution",
    citation: "this will send an alert to the Social Worker and Team Manager",
  },
  {
    id: "stage_1",
    label: "Stage 1",
    title: "CP- resolution process stage 1",
    informal: false,
    recipient: { role: "team_manager", title: "named Team Manager" },
    copyTo: [],
    responseWindowWorkingDays: 5,
    // "It may be that a request for a case discussion or a meeting can be held": optional.
    meeting: false,
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "If the issue is not resolved, or communication is not forthcoming then the outcome of this part of the resolution should be to 'progress to CP- resolution process stage 2'.",
    },
    caseNoteTitle: "Case note, Record sheet entry- IRO CP, formal resolution process stage 1- Team Manager",
    citation: "There is an expectation that the Team Manager will respond in the form, within 5 working days",
  },
  {
    id: "stage_2",
    label: "Stage 2",
    title: "CP- resolution process stage 2",
    informal: false,
    recipient: { role: "service_manager", title: "Service Manager" },
    // "ensure that this includes the Team Manager".
    copyTo: [{ role: "team_manager", title: "Team Manager" }],
    responseWindowWorkingDays: 5,
    // "This meeting should be chaired by a Service Manager."
    meeting: true,
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "If the issue is not resolved, or communication is not forthcoming then the outcome of this part of the resolution should be to 'progress to CP- resolution process stage 3 '.",
    },
    caseNoteTitle: "Case note-record sheet entry- IRO CP formal resolution stage 2- Service Manager",
    citation:
      "There is an expectation that the Service Manager will respond to this email within 5 working days",
  },
  {
    id: "stage_3",
    label: "Stage 3",
    title: "CP- resolution process stage 3",
    informal: false,
    // Both Heads of Service receive the form, co-equal: either may acknowledge, respond or record
    // the meeting. `head_of_service` is the case-holding service's (Assessment & Intervention);
    // the CPRU's is the chairs' own unit, a role of its own.
    recipient: { role: "head_of_service", title: "Head of Service (A & I)" },
    coRecipients: [{ role: "head_of_service_cpru", title: "Head of Service (CPRU)" }],
    copyTo: [],
    responseWindowWorkingDays: 5,
    // "A meeting will be arranged to look at options for progressing the situation."
    meeting: true,
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "If this situation remains unresolved then completion of the form with an identified outcome and escalation to",
    },
    caseNoteTitle: "Case note-record sheet entry- IRO CP formal resolution stage 3 -Head of Service",
    citation:
      "When submitted this form will flow into the Heads of Service work tray and should be accompanied by a request for a discussion. The Heads of Service (from A & I and CPRU) should be informed of the situation and be made aware of the key issues that remain unresolved.",
  },
  {
    id: "stage_4",
    label: "Stage 4",
    title: "CP- resolution process stage 4",
    informal: false,
    recipient: { role: "assistant_director", title: "Service Director" },
    copyTo: [],
    responseWindowWorkingDays: 5,
    meeting: true,
    onNoResponse: "ask_raiser",
    onNoResolution: {
      action: "ask_raiser",
      citation:
        "In the unlikely event that the issues is not resolved and/or discussions raise significant policy issues it should be referred to the Safeguarding Children Partnership Manager who will determine a course of action",
    },
    caseNoteTitle:
      "Case note-record sheet entry- IRO CP formal resolution request for meeting with Service Director",
    citation:
      "A meeting needs to be held with Service Director as identified in the form content. This would be before the case progresses to the Safeguarding Partnership.",
  },
];

const immediateRisk: BypassRule = {
  allowed: "immediate_risk",
  citation:
    "If the concerns indicate that the child/children are at immediate risk of significant harm the appropriate action needs to take place and each stage need not be followed in sequence.",
};

const partnershipGuidance =
  "Refer to the Safeguarding Children Partnership representative for each agency involved (LSCB procedures " +
  "2.9 'resolving professional disagreements'). If the issue is still not resolved, or raises significant " +
  "policy issues, it goes to the Safeguarding Children Partnership Manager, who will determine a course of action.";

export const liquidlogicCp: Protocol = {
  id: "liquidlogic-cp",
  name: "Child Protection Resolution Process (Liquidlogic)",
  source: { file: "003_c95e50a19d3109a8.txt", title: "Child Protection Resolution Process" },
  // The chair is the "CP Chair" / "Conference chair"; the case notes call the role "IRO CP".
  raiserTitles: { IRO: "IRO", CPC: "CP Chair" },
  tracks: {
    CP: {
      track: "CP",
      stages,
      // The seed states no whole-process target.
      bypass: { IRO: immediateRisk, CPC: immediateRisk },
      // No Cafcass: a Regulation 45 referral concerns looked-after children and the seed has none.
      partnership: {
        when: "after_final_stage",
        raiserRoles: ["IRO", "CPC"],
        approvalBy: [],
        attestations: [],
        concurrentWithEscalation: false,
        recipient: {
          role: "safeguarding_partnership",
          title: "Safeguarding Children Partnership representative for each agency involved",
        },
        documents: [],
        // The manager's decision after the referral. The seed gives it no timescale; five working
        // days, the window of every stage of this ladder, so the decision cannot drift unwatched.
        decision: {
          decidedBy: {
            role: "safeguarding_partnership_manager",
            title: "Safeguarding Children Partnership Manager",
          },
          window: { length: 5, unit: "working_days" },
          citation:
            "In the unlikely event that the issues is not resolved and/or discussions raise significant policy issues it should be referred to the Safeguarding Children Partnership Manager who will determine a course of action",
        },
        citation:
          "If professional disagreements remain unresolved, the matter must be referred to the Safeguarding Children Partnership representative for each agency involved",
      },
      endOfLadderGuidance: {
        IRO: partnershipGuidance,
        CPC: partnershipGuidance,
      },
    },
  },
  // The seed has no tick boxes; these are the concerns it names in its opening and its headings.
  themes: [
    { id: "case_management", label: "Case management issues" },
    { id: "plan_progress", label: "Progress with the child protection plan" },
    { id: "escalation_of_risk", label: "Escalation of risk" },
    { id: "pre_conference_preparation", label: "Pre-conference preparation" },
    { id: "statutory_tasks", label: "Statutory tasks (core groups / statutory visits)" },
    { id: "practice_issue", label: "Practice issue" },
  ],
  // Silent. Five-day windows: remind the recipient one working day before the deadline.
  reminderWorkingDaysBeforeDeadline: 1,
  // Silent: the protocol has no good practice notifications (a tenant may switch them on).
  goodPracticeNotifications: false,
};

import type { Window } from "./protocol-parts.js";
import type { Protocol } from "./protocol-schema.js";

/**
 * A local authority's challenge and resolution protocol, as data.
 *
 * Every seed protocol (docs/seeds) is expressed with this one model; the engine has no
 * authority-specific code paths. Each rule carries a `citation`: the words of the seed it encodes,
 * so a reviewer can check the data against the published text.
 */

export * from "./protocol-parts.js";

/**
 * The whole protocol's schema (stages, bypass, referral and difference rules) is in
 * protocol-schema.ts. The presets are TypeScript constants of these types, and the tests parse every
 * one with that schema (and check parsing leaves it unchanged), so no Lambda builds it at load:
 * only the small schemas of protocol-parts.ts, which requests and stored items reuse.
 */
export type {
  BypassRule,
  PostLadderDecision,
  Protocol,
  ReferralPolicy,
  Stage,
  Theme,
  TrackProtocol,
} from "./protocol-schema.js";

/** The raiser's decision window when the protocol sets none: one working day. */
export const DEFAULT_RAISER_DECISION_WINDOW: Window = { length: 1, unit: "working_days" };

/**
 * The protocol as one authority runs it: its own reminder timing, when its configuration sets one
 * (`reminders.workingDaysBeforeDeadline`; 0 for none), else the protocol's.
 */
export function protocolForTenant(
  protocol: Protocol,
  settings: { readonly reminders?: { readonly workingDaysBeforeDeadline?: number | undefined } | undefined },
): Protocol {
  const days = settings.reminders?.workingDaysBeforeDeadline;
  return days === undefined || days === protocol.reminderWorkingDaysBeforeDeadline
    ? protocol
    : { ...protocol, reminderWorkingDaysBeforeDeadline: days };
}

/** The challenge aggregate's public API: commands in, events out, state folded from events. */
export * from "./actor.js";
export * from "./commands.js";
export * from "./errors.js";
export * from "./event-parts.js";
// Types only: the event schemas are built by the functions that read events (store/event-item.ts).
export type * from "./events.js";
export * from "./state.js";
export { decide } from "./decide.js";
export type { DecideResult } from "./decide.js";
export { evolve, initialState, replay } from "./evolve.js";
export { actionDatePassed, reminderTime } from "./reminders.js";
export {
  deadlineRule,
  deadlineSituation,
  nextDeadlineCheck,
  nextToAct,
  raiserDecisionWindow,
  timedOutWords,
} from "./timer.js";
export { stageWindow } from "./ladder.js";
export {
  ACKNOWLEDGE_WITHIN_WORKING_DAYS,
  acknowledgementDueBy,
  acknowledgementOverdue,
  assigneeAcknowledgement,
} from "./acknowledgement.js";

/**
 * When DISTILL-CF validates (docs/protocol.md §4): the official schedule is
 * after steps 25, 50, …, 200 and then every 40 steps (240, 280, …); the run
 * driver (run.ts) can replace it by a fixed period (`validateEvery`).
 */

/** True at steps 25, 50, …, 200, 240, 280, … */
export function isValidationStep(step: number): boolean {
  if (step <= 0) return false;
  if (step <= 200) return step % 25 === 0;
  return (step - 200) % 40 === 0;
}

/** Whether `step` is followed by a validation: every `validateEvery` steps, or the official schedule when null. */
export function validatesAfter(step: number, validateEvery: number | null): boolean {
  return validateEvery === null ? isValidationStep(step) : step % validateEvery === 0;
}

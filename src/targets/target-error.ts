// The one error class of the process target: a release folder that cannot be
// made, an instance that cannot be started or stopped, a data directory that
// another Slipway supervises. The message says what and the fix.
export class TargetError extends Error {
  override readonly name = "TargetError";
}

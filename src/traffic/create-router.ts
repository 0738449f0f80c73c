// createRouter: the one way to make a TrafficRouter, by kind.
import { BuiltinRouter } from "./builtin-router.js";
import { HaproxyRouter } from "./haproxy-router.js";
import { RouterError, validateOptions, type RouterOptions, type TrafficRouter } from "./router.js";

/** A router for one environment's service; call `start()` before `apply()`. */
export function createRouter(options: RouterOptions): TrafficRouter {
  validateOptions(options);
  switch (options.kind) {
    case "builtin":
      return new BuiltinRouter(options);
    case "haproxy":
      return new HaproxyRouter(options);
    default:
      throw new RouterError("bad-options", `router kind '${String((options as { kind: unknown }).kind)}' is unknown: use builtin or haproxy`);
  }
}

// Environments form a DAG by `after:`: unknown names and cycles are
// diagnostics; the result is an order in which every environment comes after
// those it names (file order among peers).
import type { Reader, Slot } from "./reader.js";
import { suggest } from "./suggest.js";

export interface AfterEdges {
  name: string;
  slot: Slot;
  items: { name: string; slot: Slot }[];
}

export function orderEnvironments(r: Reader, envs: readonly AfterEdges[]): string[] {
  const names = envs.map((e) => e.name);
  const known = new Set(names);
  const edges = new Map<string, { name: string; slot: Slot }[]>();
  for (const env of envs) {
    const valid: { name: string; slot: Slot }[] = [];
    for (const item of env.items) {
      if (item.name === env.name) {
        r.error(item.slot, "after-cycle", `environment '${env.name}' cannot come after itself`, "name the environment it follows, or remove `after:`");
      } else if (!known.has(item.name)) {
        const close = suggest(item.name, names.filter((n) => n !== env.name));
        const others = names.filter((n) => n !== env.name);
        const fix = close ? `did you mean '${close}'?` : others.length > 0 ? `name one of: ${others.join(", ")}; or define '${item.name}' under environments:` : `define '${item.name}' under environments:, or remove it from after:`;
        r.error(item.slot, "unknown-environment", `no environment is named '${item.name}'`, fix);
      } else valid.push(item);
    }
    edges.set(env.name, valid);
  }

  // Cycles: a depth-first search; each cycle is reported once, at the `after:` entry that closes it.
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const reported = new Set<string>();
  const visit = (name: string): void => {
    state.set(name, "visiting");
    stack.push(name);
    for (const edge of edges.get(name) ?? []) {
      const s = state.get(edge.name);
      if (s === "visiting") {
        const cycle = [...stack.slice(stack.indexOf(edge.name)), edge.name];
        const key = [...cycle.slice(0, -1)].sort().join(" ");
        if (!reported.has(key)) {
          reported.add(key);
          // Written as the order of deployment: X → Y means Y comes after X.
          const shown = [...cycle].reverse().join(" → ");
          r.error(edge.slot, "after-cycle", `environments form a cycle: ${shown}`, `remove one \`after:\` entry of ${cycle.slice(0, -1).map((c) => `'${c}'`).join(", ")} so that promotion has a first environment`);
        }
      } else if (s === undefined) visit(edge.name);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const n of names) if (!state.has(n)) visit(n);

  // Kahn's algorithm, taking environments in file order; those on a cycle are left out.
  const order: string[] = [];
  const placed = new Set<string>();
  let progress = true;
  while (progress) {
    progress = false;
    for (const n of names) {
      if (placed.has(n)) continue;
      if ((edges.get(n) ?? []).every((e) => placed.has(e.name))) {
        order.push(n);
        placed.add(n);
        progress = true;
        break;
      }
    }
  }
  return order;
}
